"""Lesson structure recovery: title, summary, intro and sections from a page's chrome-free lines.

Scraped pages lose their heading markup, so headings are recovered from the *shape* of the text (short,
unpunctuated, followed by longer text) and from "Section N" labels. The result is tidied (empty stubs and
repeats dropped, explicit sections nested under group headings) so the tutor cites real sections only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from corpus.tools.page_chrome import SECTION_LABEL, strip_chrome
from corpus.tools.page_lesson import CleanLesson, Section, has_terminal, is_bullet, normalize, word_count

log = logging.getLogger(__name__)

#: Label lines that often head a lesson's parts; they make a short line a heading even when the line after
#: it is short too. Headings are still mostly found by shape (see `_is_heading`).
_KNOWN_LABELS = {
    "the premise",
    "what ai does well here",
    "what ai cannot do",
    "why it matters",
    "common pitfall",
    "common pitfalls",
    "practice",
    "outcomes",
    "what to learn",
    "resources",
    "summary",
    "key takeaways",
    "takeaways",
    "overview",
    "prerequisites",
    "exercise",
    "exercises",
    "examples",
    "example",
    "in practice",
    "next steps",
    "further reading",
    "how it works",
    "try it",
}

#: Stands in for a "Section N" label line while sections are grouped (it cannot occur in page text).
_LABEL_TOKEN = "\x00SECTION\x00"


def _find_title(lines: list[str]) -> int:
    """Index of the title: the first line that is followed by a sentence (the lesson's summary).

    Scraped pages put category tags, series names and bylines above the title; they are all short lines,
    so short lines before the title are dropped. If nothing in the first lines fits, the first line wins.
    """
    for i, line in enumerate(lines[:10]):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if word_count(line) > 20 or SECTION_LABEL.match(line):
            break
        if word_count(nxt) >= 8 and has_terminal(nxt) and word_count(nxt) > word_count(line):
            if all(word_count(ln) <= 5 for ln in lines[:i]):
                return i
            break
    return 0


def _is_heading(lines: Sequence[str], i: int, prev_kind: str) -> bool:
    """Decide from shape whether line `i` is a heading.

    A heading is short, has no sentence punctuation at the end (a question mark is allowed), and is
    followed by a bullet or by a longer line. Inside an unmarked list (several unpunctuated lines in a row)
    a line only counts if it is clearly shorter than the next one or is a known label.
    """
    line = lines[i]
    first = line.lstrip("\"'“‘(")[:1]
    if is_bullet(line) or line == _LABEL_TOKEN or not first.isalnum() or first.islower():
        return False
    words = word_count(line)
    question = line.endswith("?")
    if words > (12 if question else 8) or (has_terminal(line) and not question):
        return False
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    if not nxt or nxt == _LABEL_TOKEN:
        return False
    known = normalize(line) in _KNOWN_LABELS
    if prev_kind == "heading" and not known:
        return False  # a heading's first body line is not another heading
    if prev_kind == "item":
        return known or (words <= 5 and (is_bullet(nxt) or word_count(nxt) >= 2 * words))
    if known:
        return True
    return is_bullet(nxt) or has_terminal(nxt) and word_count(nxt) > words or word_count(nxt) > words + 2


def clean_page(raw: str) -> CleanLesson:
    """Strip page chrome from one scraped lesson page and recover its title, intro and sections."""
    lines = strip_chrome(raw)
    if not lines:
        return CleanLesson(title="")

    t = _find_title(lines)
    title = re.sub(r"(?<![.])\.$", "", lines[t]).strip()
    body = [ln for ln in lines[t + 1 :] if normalize(ln) != normalize(title)]
    body = [_LABEL_TOKEN if SECTION_LABEL.match(ln) else ln for ln in body]
    explicit_mode = _LABEL_TOKEN in body

    lesson = CleanLesson(title=title)
    current: Section | None = None
    prev_kind = "heading"  # the title
    i = 0
    while i < len(body):
        line = body[i]
        if line == _LABEL_TOKEN:
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt and nxt != _LABEL_TOKEN and word_count(nxt) <= 15 and not has_terminal(nxt):
                current = Section(heading=nxt, level=2, explicit=True)
                lesson.sections.append(current)
                prev_kind = "heading"
                i += 2
            else:
                i += 1
            continue
        if _is_heading(body, i, prev_kind if current is not None or lesson.summary else "para"):
            current = Section(heading=line.rstrip(":"), level=3 if explicit_mode else 2)
            lesson.sections.append(current)
            prev_kind = "heading"
        else:
            if current is None:
                if not lesson.summary:
                    lesson.summary = line
                else:
                    lesson.intro.append(line)
            else:
                current.body.append(line)
            prev_kind = "para" if has_terminal(line) or is_bullet(line) else "item"
        i += 1

    lesson.intro = _bulletize(lesson.intro)
    for section in lesson.sections:
        section.body = _bulletize(section.body)
    _tidy(lesson)
    return lesson


def _bulletize(blocks: list[str]) -> list[str]:
    """Runs of two or more unpunctuated lines are a list whose markers were lost: give them `- `."""
    out = list(blocks)
    i = 0
    while i < len(out):
        j = i
        while j < len(out) and not is_bullet(out[j]) and not has_terminal(out[j]):
            j += 1
        if j - i >= 2:
            for k in range(i, j):
                out[k] = f"- {out[k]}"
        i = max(j, i + 1)
    return out


def _is_stub(block: str) -> bool:
    """ "Primary (free):" with nothing after it: a label whose list was empty on the page."""
    return block.endswith(":") and word_count(block) <= 4


def _tidy(lesson: CleanLesson) -> None:
    """Drop empty stubs and exact duplicates, then nest explicit sections under their group headings."""
    seen_paragraphs = {normalize(lesson.summary)} if lesson.summary else set()
    lesson.intro = _dedupe_blocks(lesson.intro, seen_paragraphs)
    seen_sections: set[tuple[str, str]] = set()
    kept: list[Section] = []
    for section in lesson.sections:
        while section.body and _is_stub(section.body[-1]):
            section.body.pop()
        key = (normalize(section.heading), normalize(section.body_text))
        if section.body and key in seen_sections:
            continue  # an exact repeat of an earlier section
        seen_sections.add(key)
        had_body = bool(section.body)
        section.body = _dedupe_blocks(section.body, seen_paragraphs)
        if had_body and not section.body:
            continue  # everything in it was already said on the page
        kept.append(section)

    # An explicit section with no body is a group heading when explicit sections follow it: nest those.
    grouped = False
    for i, section in enumerate(kept):
        if section.explicit:
            nxt = kept[i + 1] if i + 1 < len(kept) else None
            if not section.body and nxt is not None and nxt.explicit:
                grouped = True
                section.level = 2
            elif grouped:
                section.level = 3
    # Remove sections that are still empty and have nothing nested under them.
    final: list[Section] = []
    for i, section in enumerate(kept):
        nxt = kept[i + 1] if i + 1 < len(kept) else None
        if not section.body and (nxt is None or nxt.level <= section.level):
            log.debug("dropped empty section %r", section.heading)
            continue
        final.append(section)
    lesson.sections = final


def _dedupe_blocks(blocks: list[str], seen_paragraphs: set[str]) -> list[str]:
    """Drop a paragraph seen earlier on the page, and a bullet repeated within the same list."""
    out: list[str] = []
    seen_here: set[str] = set()
    for block in blocks:
        key = normalize(block)
        if not key:
            continue
        if is_bullet(block):
            if key in seen_here:
                continue
        elif key in seen_paragraphs:
            continue
        else:
            seen_paragraphs.add(key)
        seen_here.add(key)
        out.append(block)
    return out
