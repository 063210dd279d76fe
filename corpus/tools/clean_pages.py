"""Scraped lesson pages → clean lesson Markdown for the tutor's corpus.

This is the entry point and the output step; the work is split by concern:
`page_chrome` strips site chrome (menus, quizzes, related lists, newsletter boxes, bylines) by generic
patterns, `page_structure` recovers title, intro and sections from the shape of the text, `page_merge` merges
two renderings of the same lesson, and `lessonfile` owns the id rule and front matter shared with the other
corpus and eval tools, so ids written here match the ids evals refer to.

Run: `python -m corpus.tools.clean_pages SRC_DIR OUT_DIR --course "Course name"`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from corpus.tools.lessonfile import front_matter, slugify
from corpus.tools.page_lesson import CleanLesson, render_blocks
from corpus.tools.page_merge import merge_renderings
from corpus.tools.page_structure import clean_page

log = logging.getLogger("corpus.tools.clean_pages")  # not __name__: that is "__main__" under `python -m`

PAGE_SUFFIXES = (".txt", ".md")


def to_markdown(lesson: CleanLesson, lesson_id: str, course: str, source: str) -> str:
    """Front matter (id, title, course, source), a blank line, `# Title`, intro, then `##`/`###` sections."""
    parts = [f"# {lesson.title}"]
    intro = ([lesson.summary] if lesson.summary else []) + lesson.intro
    if intro:
        parts += ["", render_blocks(intro)]
    for section in lesson.sections:
        parts += ["", f"{'#' * section.level} {section.heading}"]
        if section.body:
            parts += ["", section.body_text]
    return front_matter(lesson_id, lesson.title, course, source) + "\n" + "\n".join(parts) + "\n"


def convert(paths: Iterable[Path], out_dir: Path, course: str) -> list[Path]:
    """Clean, merge and write every page; returns the files written."""
    lessons: list[CleanLesson] = []
    for path in paths:
        lesson = clean_page(path.read_text(encoding="utf-8-sig"))
        if not lesson.title:
            log.warning("skipped %s: nothing left after cleaning", path)
            continue
        lesson.sources = [path.name]
        log.info("cleaned %s -> %r (%d sections)", path.name, lesson.title, len(lesson.sections))
        lessons.append(lesson)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    used: set[str] = set()
    for lesson in merge_renderings(lessons):
        base_id = slugify(lesson.title)
        lesson_id, n = base_id, 2
        while lesson_id in used:
            lesson_id, n = f"{base_id}-{n}", n + 1
        used.add(lesson_id)
        target = out_dir / f"{lesson_id}.md"
        target.write_text(to_markdown(lesson, lesson_id, course, "; ".join(lesson.sources)), encoding="utf-8")
        log.info("wrote %s", target)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: `python -m corpus.tools.clean_pages SRC_DIR OUT_DIR --course NAME`."""
    parser = argparse.ArgumentParser(prog="python -m corpus.tools.clean_pages", description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="folder of scraped pages (.txt/.md)")
    parser.add_argument("out", type=Path, help="folder to write lesson Markdown into")
    parser.add_argument("--course", required=True, help="course name for the front matter")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    paths = sorted(p for p in args.src.iterdir() if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES)
    if not paths:
        log.error("no .txt/.md pages in %s", args.src)
        return 1
    written = convert(paths, args.out, args.course)
    log.info("%d pages -> %d lessons in %s", len(paths), len(written), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
