"""Lesson files → `Lesson` objects: Markdown (optional YAML front matter), plain text, or HTML.

A bad file raises `LessonError` naming the file and the reason, so an ingest can report it and go on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tutor.ingest.course import NO_COURSE, CourseInfo
from tutor.ingest.html import html_to_markdown
from tutor.text import markdown_headings

log = logging.getLogger(__name__)

LOADER_VERSION = "3"  # 2: HTML pages read for their main content (tutor.ingest.html); 3: course files, roots
LESSON_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class LessonError(ValueError):
    """A lesson file that cannot be read; `path` and `reason` go into the ingest report."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Section:
    """A heading and where its text starts and ends in the lesson text."""

    level: int
    title: str
    start: int
    end: int
    path: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    course: str
    text: str
    source: str = ""
    sections: tuple[Section, ...] = field(default=())
    order: int = 0  # place in its course file's `lessons:` (unlisted lessons after, by file name)
    root: str = ""  # the corpus folder it came from: a server serves exactly its folders' lessons
    course_description: str = ""

    def section_at(self, offset: int) -> Section | None:
        """The innermost section whose span holds `offset`."""
        found = None
        for section in self.sections:
            if section.start <= offset < section.end and (found is None or section.level >= found.level):
                found = section
        return found


def find_lesson_files(roots: Iterable[Path]) -> Iterator[Path]:
    """Every lesson file under the roots, in a stable order; README/LICENSE-like files are not lessons."""
    for root in roots:
        root = Path(root)
        if root.is_file():
            yield root
            continue
        for path in sorted(root.rglob("*")):
            if path.suffix.lower() in LESSON_SUFFIXES and path.is_file() and not _is_meta_file(path, root):
                yield path


def _is_meta_file(path: Path, root: Path) -> bool:
    name = path.stem.upper()
    hidden = any(part.startswith((".", "_")) for part in path.relative_to(root).parts)
    return hidden or name in {"README", "LICENSE", "SOURCE", "CHANGELOG", "NOTICE"}


def load_lesson(path: Path, root: Path | None = None, course: CourseInfo = NO_COURSE) -> Lesson:
    """Read one lesson file. The id defaults to the file stem; the course is the lesson's own metadata, else
    its course file's title, else the folder name."""
    path = Path(path)
    text = _read_text(path)
    suffix = path.suffix.lower()
    meta: dict = {}
    if suffix in (".html", ".htm"):
        page = html_to_markdown(text)
        text, meta = page.text, {**page.meta, "title": page.title}
    else:
        text, meta = split_front_matter(text, path)
    text = text.strip("\n")
    if not text.strip():
        raise LessonError(path, "lesson has no text (only front matter or whitespace)")
    lesson_id = str(meta.get("id") or path.stem).strip()
    if not re.fullmatch(r"[\w.\-]+", lesson_id):
        raise LessonError(path, f"lesson id {lesson_id!r} may only use letters, digits, '.', '_' and '-'")
    sections = markdown_sections(text)
    title = str(meta.get("title") or "").strip() or _first_heading(sections) or _first_line(text)
    course_name = str(meta.get("course") or "").strip() or course.title or course_from_folder(path, root)
    return Lesson(
        lesson_id,
        title,
        course_name,
        text,
        str(meta.get("source") or path.name),
        sections,
        order=course.position(path, lesson_id),
        root=str(Path(root).resolve()) if root is not None else "",
        course_description=course.description,
    )


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LessonError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise LessonError(path, "file is empty")
    if b"\x00" in data[:8192]:
        raise LessonError(path, "file looks binary (contains NUL bytes), not a text lesson")
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise LessonError(path, f"not valid UTF-8 (byte {exc.start}); save the lesson as UTF-8") from exc


def split_front_matter(text: str, path: Path) -> tuple[str, dict]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, {}
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise LessonError(path, f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise LessonError(path, "front matter must be a mapping (id:, title:, course:)")
    return text[match.end() :], meta


def markdown_sections(text: str) -> tuple[Section, ...]:
    """Headings outside code fences, each spanning to the next heading of the same or higher level."""
    heads = [(level, _plain(title), start) for level, title, start in markdown_headings(text)]
    sections = []
    stack: list[tuple[int, str]] = []
    for i, (level, title, start) in enumerate(heads):
        end = next((s for lv, _, s in heads[i + 1 :] if lv <= level), len(text))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        sections.append(Section(level, title, start, end, tuple(t for _, t in stack)))
    return tuple(sections)


def _plain(markdown: str) -> str:
    return re.sub(r"[*_`]|\[([^\]]*)\]\([^)]*\)", r"\1", markdown).strip()


def _first_heading(sections: tuple[Section, ...]) -> str:
    return min(sections, key=lambda s: (s.level, s.start)).title if sections else ""


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line[:120]


def course_from_folder(path: Path, root: Path | None) -> str:
    """The course a lesson without `course:` metadata belongs to: its folder's name, made readable."""
    folder = path.parent
    if root is not None and folder == Path(root) and root.name:
        folder = Path(root)
    return folder.name.replace("-", " ").replace("_", " ").strip() or "lessons"
