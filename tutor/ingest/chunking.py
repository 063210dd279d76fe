"""Lesson → chunks that follow its structure: headings first, then paragraphs, lines, sentences, words.

Every chunk fits the embedding model's token budget (so nothing is silently truncated) and records its
exact character span: `chunk.text == lesson.text[chunk.start:chunk.end]`, which later highlights it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tutor.ingest.lessons import Lesson

TokenCounter = Callable[[str], int]

# Finer and finer places to cut, each a regex whose match ends a piece. A blank line after a line ending in
# ":" is not a paragraph break: "K-means works in three steps:" stays with the list it introduces.
_SEPARATORS = (r"(?<!:)\n\s*\n", r"(?<!:)\n", r"(?<=[.!?;:])[\"')\]]*\s+", r"\s+")


@dataclass(frozen=True)
class Chunk:
    id: str
    lesson_id: str
    course: str
    title: str
    section: str
    index: int
    start: int
    end: int
    text: str
    root: str = ""

    @property
    def metadata(self) -> dict[str, str | int]:
        return {
            "lesson_id": self.lesson_id,
            "course": self.course,
            "root": self.root,
            "title": self.title,
            "section": self.section,
            "index": self.index,
            "start": self.start,
            "end": self.end,
        }


def chunk_lesson(lesson: Lesson, count_tokens: TokenCounter, max_tokens: int = 200) -> list[Chunk]:
    """Cut at headings, pack small neighbouring blocks of one section together, split big ones."""
    spans: list[tuple[int, int]] = []
    for start, end in _heading_blocks(lesson):
        spans.extend(_split(lesson.text, start, end, count_tokens, max_tokens, 0))
    spans = _merge_small(lesson, spans, count_tokens, max_tokens)
    chunks = []
    for index, (start, end) in enumerate(spans):
        section = lesson.section_at(start)
        chunks.append(
            Chunk(
                id=f"{lesson.id}#{index}",
                lesson_id=lesson.id,
                course=lesson.course,
                title=lesson.title,
                section=" > ".join(section.path) if section else "",
                index=index,
                start=start,
                end=end,
                text=lesson.text[start:end],
                root=lesson.root,
            )
        )
    return chunks


def _heading_blocks(lesson: Lesson) -> list[tuple[int, int]]:
    cuts = sorted({0, *(s.start for s in lesson.sections), len(lesson.text)})
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if lesson.text[a:b].strip()]


def _split(text: str, start: int, end: int, count: TokenCounter, limit: int, level: int) -> list[tuple[int, int]]:
    """Trimmed spans covering text[start:end], each within `limit` tokens, cut as coarsely as possible."""
    start, end = _trim(text, start, end)
    if start >= end:
        return []
    if count(text[start:end]) <= limit:
        return [(start, end)]
    if level >= len(_SEPARATORS):
        return _split_hard(text, start, end, count, limit)
    pieces, cursor = [], start
    for match in re.finditer(_SEPARATORS[level], text[start:end]):
        pieces.append((cursor, start + match.end()))
        cursor = start + match.end()
    pieces.append((cursor, end))
    out: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for piece in pieces:
        if current and count(text[current[0] : piece[1]].strip()) <= limit:
            current = (current[0], piece[1])
            continue
        if current:
            out.extend(_split(text, *current, count, limit, level + 1))
        current = piece
    if current:
        out.extend(_split(text, *current, count, limit, level + 1))
    return out


def _split_hard(text: str, start: int, end: int, count: TokenCounter, limit: int) -> list[tuple[int, int]]:
    """A single 'word' longer than the budget (a URL, a table row): cut by characters."""
    out, cursor = [], start
    while cursor < end:
        stop = end
        while stop - cursor > 1 and count(text[cursor:stop]) > limit:
            stop = cursor + (stop - cursor) * 3 // 4
        out.append(_trim(text, cursor, stop))
        cursor = stop
    return [s for s in out if s[0] < s[1]]


def _merge_small(
    lesson: Lesson, spans: list[tuple[int, int]], count: TokenCounter, limit: int
) -> list[tuple[int, int]]:
    """Join neighbouring spans of the same top-level section while they fit, so passages read whole."""
    merged: list[tuple[int, int]] = []
    for span in spans:
        if merged and _top_section(lesson, merged[-1][0]) == _top_section(lesson, span[0]):
            joined = (merged[-1][0], span[1])
            if count(lesson.text[joined[0] : joined[1]]) <= limit:
                merged[-1] = joined
                continue
        merged.append(span)
    return merged


def _top_section(lesson: Lesson, offset: int) -> tuple[str, ...]:
    section = lesson.section_at(offset)
    return section.path[:2] if section else ()


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
