"""Import the ML-For-Beginners lessons into the tutor corpus.

Why a script rather than a one-off copy: the shared snapshot is the single source of truth, and
re-running this makes the corpus reproducible (file names, ids and front matter stay stable).

Usage: python corpus/tools/import_mlfb.py [SRC_DIR] [OUT_DIR]
Defaults: SRC_DIR=/work/shared/corpora/ml-for-beginners, OUT_DIR=<this folder>/ml-for-beginners.
Stdlib only. Ids and front matter come from `corpus.tools.lessonfile`, shared with the other lesson writers,
and `evals/build_datasets.py` uses `lesson_stem` for its ML-For-Beginners questions, so they cannot drift apart.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import sys
from pathlib import Path

try:
    from corpus.tools.lessonfile import front_matter, slugify
except ModuleNotFoundError as err:  # run as `python corpus/tools/import_mlfb.py`: the repo root is not on sys.path
    if not (err.name or "").startswith("corpus"):
        raise
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from corpus.tools.lessonfile import front_matter, slugify

log = logging.getLogger("import_mlfb")

COURSE = "ML for Beginners"
DEFAULT_SRC = Path("/work/shared/corpora/ml-for-beginners")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "ml-for-beginners"


def lesson_stem(file_name: str) -> str:
    """`lessons/L01__1-Introduction__1-intro-to-ML.md` -> `mlfb-01-intro-to-ml`.

    The number comes from the `LNN` prefix; the slug is the shared `slugify` of the last `__` part without its
    leading ordinal (for upstream folder names that is just the name lowercased), so ids are stable and sort
    in course order.
    """
    name = Path(file_name).stem
    match = re.match(r"L(\d+)__", name)
    if not match:
        raise ValueError(f"unexpected lesson file name: {file_name}")
    slug = slugify(re.sub(r"^\d+-", "", name.split("__")[-1]))
    return f"mlfb-{int(match.group(1)):02d}-{slug}"


def render(entry: dict, text: str) -> str:
    """Prepend front matter to the verbatim lesson text."""
    return front_matter(lesson_stem(entry["file"]), entry["title"], COURSE, entry["source_path"]) + text


def main(argv: list[str] | None = None) -> int:
    """Copy LICENSE/SOURCE.txt and write one front-mattered Markdown file per lesson."""
    args = sys.argv[1:] if argv is None else argv
    src = Path(args[0]) if len(args) > 0 else DEFAULT_SRC
    out = Path(args[1]) if len(args) > 1 else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    for name in ("LICENSE", "SOURCE.txt"):
        shutil.copyfile(src / name, out / name)
    entries = json.loads((src / "lessons.json").read_text(encoding="utf-8"))
    for entry in entries:
        text = (src / entry["file"]).read_text(encoding="utf-8")
        target = out / f"{lesson_stem(entry['file'])}.md"
        target.write_text(render(entry, text), encoding="utf-8")
        log.info("wrote %s", target)
    log.info("imported %d lessons into %s", len(entries), out)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    raise SystemExit(main())
