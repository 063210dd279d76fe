"""The lesson-file format shared by every tool that writes lessons: one id rule and one front-matter layout.

Why one module: `clean_pages`, `import_mlfb` and `evals/build_datasets.py` all write lesson files the tutor
indexes, and evals refer to lessons by id. When each tool had its own slug function, the same title got
different ids (`build_datasets` did not cut long titles, so its fallback id for a seed lesson did not match
the id `clean_pages` had written). Keeping the rule and the front matter here makes them agree by
construction. Stdlib only, so the tools stay runnable without the tutor's dependencies.
"""

from __future__ import annotations

import json
import re
import unicodedata

#: Longest slug; ids longer than this are cut at a word boundary so file names stay readable.
MAX_ID_LEN = 60


def slugify(title: str, max_len: int | None = MAX_ID_LEN) -> str:
    """Lowercase ASCII words joined by hyphens, cut at a word boundary so ids stay readable.

    Accents are folded (`Café` -> `cafe`) rather than dropped, so a non-English title keeps its words. Every
    committed id (seed lessons, ML-For-Beginners lessons, SQuAD paragraphs) is reproduced by the default
    `max_len`; pass `max_len=None` for a slug that is never cut. An empty result becomes `lesson` so a file
    always gets a name.
    """
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    slug = "-".join(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", ascii_title))
    slug = re.sub(r"-{2,}", "-", slug).strip("-")
    if max_len is not None and len(slug) > max_len:
        cut = slug[: max_len + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else slug[:max_len]
    return slug or "lesson"


def yaml_str(value: str) -> str:
    """Quote a scalar for YAML: JSON string syntax is valid YAML and survives ':', '#', quotes and non-ASCII."""
    return json.dumps(value, ensure_ascii=False)


def front_matter(lesson_id: str, title: str, course: str, source: str) -> str:
    """The `---` block every lesson file starts with (id, title, course, source), ending in a newline.

    The fields and their order are the ones corpus/README.md documents; the lesson text follows directly.
    """
    fields = {"id": lesson_id, "title": title, "course": course, "source": source}
    lines = ["---", *(f"{key}: {yaml_str(value)}" for key, value in fields.items()), "---"]
    return "\n".join(lines) + "\n"


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Parse a `---` front-matter block of `key: value` lines (values may be JSON-quoted); return it and the body.

    A small reader rather than a YAML parser so the build tools stay stdlib-only; it reads everything
    `front_matter` writes. Text without front matter comes back unchanged with an empty mapping.
    """
    if not text.startswith("---"):
        return {}, text
    end = text.find("\n---", 3)
    if end < 0:
        return {}, text
    meta: dict[str, str] = {}
    for line in text[3:end].splitlines():
        if ":" not in line or line.startswith((" ", "\t", "#")):
            continue
        key, value = line.split(":", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            try:
                value = json.loads(value) if value[0] == '"' else value[1:-1]
            except json.JSONDecodeError:
                value = value[1:-1]
        meta[key.strip()] = value
    body = text[end + 4 :]
    return meta, body.lstrip("\n")
