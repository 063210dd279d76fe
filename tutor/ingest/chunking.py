"""Lesson → chunks that follow its structure: headings first, then paragraphs, lines, sentences, words.

Every chunk fits the embedding model's token budget (so nothing is silently truncated) and records its
exact character span: `chunk.text == lesson.text[chunk.start:chunk.end]`, which later highlights it.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from tutor.ingest.lessons import Lesson

TokenCounter = Callable[[str], int]
TokenOffsets = Callable[[str], "list[tuple[int, int]] | None"]

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


def chunk_lesson(
    lesson: Lesson,
    count_tokens: TokenCounter,
    max_tokens: int = 200,
    token_offsets: TokenOffsets | None = None,
    special_tokens: int = 0,
) -> list[Chunk]:
    """Cut at headings, pack small neighbouring blocks of one section together, split big ones. With
    `token_offsets` the lesson is tokenized once and every span counted from it (packing tries many spans,
    and tokenizing each took most of a catalog's chunking time)."""
    count = SpanCounter(lesson.text, count_tokens, token_offsets, special_tokens)
    spans: list[tuple[int, int]] = []
    for start, end in _heading_blocks(lesson):
        spans.extend(_split(lesson.text, start, end, count, max_tokens, 0))
    spans = _merge_small(lesson, spans, count, max_tokens)
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


class SpanCounter:
    """Tokens in `text[start:end]`: from one tokenization of the whole text when offsets are given (the
    word pieces overlapping the span, plus the model's special tokens), else by tokenizing the span."""

    def __init__(
        self, text: str, count_tokens: TokenCounter, token_offsets: TokenOffsets | None, special_tokens: int
    ) -> None:
        self.text = text
        self.count_text = count_tokens
        offsets = token_offsets(text) if token_offsets else None
        self._starts = [a for a, _ in offsets] if offsets is not None else None
        self._ends = [b for _, b in offsets] if offsets is not None else []
        self._specials = special_tokens

    def __call__(self, start: int, end: int) -> int:
        if self._starts is None:
            return self.count_text(self.text[start:end])
        # pieces that end after `start` and begin before `end`
        return max(0, bisect_left(self._starts, end) - bisect_right(self._ends, start)) + self._specials


def _heading_blocks(lesson: Lesson) -> list[tuple[int, int]]:
    cuts = sorted({0, *(s.start for s in lesson.sections), len(lesson.text)})
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if lesson.text[a:b].strip()]


def _split(text: str, start: int, end: int, count: SpanCounter, limit: int, level: int) -> list[tuple[int, int]]:
    """Trimmed spans covering text[start:end], each within `limit` tokens, cut as coarsely as possible."""
    start, end = _trim(text, start, end)
    if start >= end:
        return []
    if count(start, end) <= limit:
        return [(start, end)]
    if level >= len(_SEPARATORS):
        return _split_hard(text, start, end, count.count_text, limit)
    pieces, cursor = [], start
    for match in re.finditer(_SEPARATORS[level], text[start:end]):
        pieces.append((cursor, start + match.end()))
        cursor = start + match.end()
    pieces.append((cursor, end))
    out: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for piece in pieces:
        if current and count(*_trim(text, current[0], piece[1])) <= limit:
            current = (current[0], piece[1])
            continue
        if current:
            out.extend(_split(text, *current, count, limit, level + 1))
        current = piece
    if current:
        out.extend(_split(text, *current, count, limit, level + 1))
    return out


def _split_hard(text: str, start: int, end: int, count: TokenCounter, limit: int) -> list[tuple[int, int]]:
    """A single 'word' longer than the budget (a URL, a table row): cut by characters, each cut counted on
    its own (a word cut in two tokenizes differently from the whole)."""
    out, cursor = [], start
    while cursor < end:
        stop = end
        while stop - cursor > 1 and count(text[cursor:stop]) > limit:
            stop = cursor + (stop - cursor) * 3 // 4
        out.append(_trim(text, cursor, stop))
        cursor = stop
    return [s for s in out if s[0] < s[1]]


def _merge_small(lesson: Lesson, spans: list[tuple[int, int]], count: SpanCounter, limit: int) -> list[tuple[int, int]]:
    """Join neighbouring spans of the same top-level section while they fit, so passages read whole."""
    merged: list[tuple[int, int]] = []
    for span in spans:
        if merged and _top_section(lesson, merged[-1][0]) == _top_section(lesson, span[0]):
            joined = (merged[-1][0], span[1])
            if count(*joined) <= limit:
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
