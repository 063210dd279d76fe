"""Scraped lesson pages → clean lesson Markdown for the tutor's corpus.

Pages copied out of a learning site arrive as flat text: one line per block, with the site's chrome
(navigation, quizzes, "related lessons", newsletter boxes, bylines) mixed in and headings no longer marked.
Indexing that as-is would make the tutor quote quiz distractors and menu labels as if they were lesson
content, so this module strips chrome by *generic* patterns (it runs on pages that are not in this repo),
recovers headings from the shape of the text, and merges two renderings of the same lesson.

Run: `python -m corpus.tools.clean_pages SRC_DIR OUT_DIR --course "Course name"`.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("corpus.tools.clean_pages")  # not __name__: that is "__main__" under `python -m`

PAGE_SUFFIXES = (".txt", ".md")
MAX_ID_LEN = 60

# ---------------------------------------------------------------------------------------------------------
# Chrome patterns. Matched against a stripped line, case-insensitively unless noted.
# ---------------------------------------------------------------------------------------------------------

_I = re.IGNORECASE

#: "Section 3" style labels: dropped, but the line after them is a section heading.
_SECTION_LABEL = re.compile(r"^(section|module|unit|chapter)\s+\d+$", _I)

#: In-page navigation (lesson map, learning path, key terms); the block runs to the next section label.
_NAV_START = re.compile(
    r"^(lesson map|learning path|concept cluster|key terms( in this (lesson|page|chapter))?|on this page"
    r"|table of contents|in this (lesson|article|guide) you will find)$",
    _I,
)
_NAV_SUBTITLE = re.compile(
    r"^(what this (lesson|page|chapter) covers|the main moves in order|terms to connect while reading)$", _I
)

#: Quizzes: from the marker to the next section label (or the end of the page); options are indistinguishable
#: from prose, so the whole block goes.
_QUIZ_START = re.compile(
    r"^((end|start)[- ]of[- ](the[- ])?(lesson|chapter|module|section|unit)[- ](check|quiz|test)"
    r"|quiz|lesson quiz|check your understanding|knowledge check|test yourself|self[- ]check)$"
    r"|^\d+\s+questions?\s*[·•|:-]",
    _I,
)

#: "Related lessons" / "Keep going" lists: to the next section label or the end of the page.
_RELATED_START = re.compile(
    r"^(related (lessons|posts|articles|guides|reading|courses)|keep going|keep learning|read next|up next"
    r"|you might also like|more lessons|recommended( for you)?)$",
    _I,
)

#: Series navigation: "Foo · 16 of 21 published" followed by a numbered table of contents.
_SERIES_TOC = re.compile(r"·\s*\d+\s+of\s+\d+\s+(published|parts|posts|lessons)$", _I)
_NUMBERED_ITEM = re.compile(r"^\s*\d+[.)]\s+\S")

#: Single chrome lines.
_CHROME_LINES = [
    re.compile(p, _I)
    for p in (
        r"^lesson\s+\d+\s+(of|/)\s+\d+$",
        r"^(series\s*·\s*)?part\s+\d+\s+(of|/)\s+\d+$",
        r"^[^.!?]{0,40}(beginner|intermediate|advanced|expert)\s*·?\s*\d+\s*(h|hrs?|hours?|m|mins?|minutes)$",
        r"^(←\s*)?back to\b[^.!?:]{0,50}\b(roadmap|courses?|lessons?|overview|home|top|index|series|track"
        r"|guides?|blog|posts|articles|path)$",
        r"progress saved locally|sign in to sync|sign in to save",
        r"^curious about\b.*\?$",
        r"^ask (me )?anything about this (lesson|page|guide|article)\b",
        r"^related (guides|lessons|posts|articles|reading)\s*:",
        r"^next up\s*:",
        r"^(previous|next)\s*(lesson|post|part|article)?\s*[:→←]",
        r"^newsletter$",
        r"^(get|receive) new posts\b",
        r"^subscribe( to)?\b.{0,60}$",
        r"^no spam\b",
        r"^(leave a comment|share this( lesson| post| article)?|copy link)$",
        r"^\d+\s*(min|mins|minutes|h|hr|hrs|hours)( read)?(\s*·\s*[^.!?]{0,40})?$",
        r"^(reviewed|updated|last updated|published)\b[^.!?]{0,30}\d{4}$",
        r"^[\w&/ ]{1,30}\s*·\s*\d+\s*(min|mins|h|hr|hrs)$",
        r"^(by|written by|author:)\s+[A-Z][\w.'-]*(\s+[A-Z][\w.'-]*){0,3}$",
        r"^·",
        r"^[^.!?]{1,40}(\s[›»]\s[^.!?]{1,40})+$",
    )
]

#: Widget labels that are chrome only as the page's last line ("Discussion" may also head real content).
_TAIL_LABEL = re.compile(r"^(discussion|comments|share|print)$", _I)

#: Lines that are not visible chrome on their own but belong to the embedded tutor box.
_TUTOR_LABEL = re.compile(r"^(ai )?tutor$|^ask the tutor$", _I)

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

_BULLET_ASCII = re.compile(r"^[-*+]\s+(.*)$")
_BULLET_UNICODE = re.compile(r"^[•●▪◦‣–]\s*(.*)$")
#: "- 1The premise" — a list number glued to the item text by the scraper.
_GLUED_NUMBER = re.compile(r"^(\d{1,2})(?=[A-Z][a-z])")
#: "EFFORTLow" — an all-caps field label glued to its value.
_GLUED_FIELD = re.compile(r"^([A-Z]{4,})([A-Z][a-z]+)$")
_CAPS_LABEL = re.compile(r"^[A-Z][A-Z&/-]{2,}( [A-Z][A-Z&/-]{2,})?$")
_TERMINAL = (".", "!", "?", ":", ";", ",", "…", '."', ".”", "!”", "?”")


# ---------------------------------------------------------------------------------------------------------
# Data model
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Section:
    """One heading and its blocks; a block is a paragraph or a single `- ` bullet line."""

    heading: str
    body: list[str] = field(default_factory=list)
    level: int = 2
    explicit: bool = False  # came from a "Section N" label (used only while grouping)

    @property
    def body_text(self) -> str:
        """The body as Markdown: bullets one per line, paragraphs separated by blank lines."""
        return render_blocks(self.body)

    def __iter__(self) -> Iterator[str]:
        """Behave like the `(heading, body_text)` pair the rest of the code base expects."""
        return iter((self.heading, self.body_text))


@dataclass
class CleanLesson:
    """A lesson with the chrome gone: title, summary line, intro paragraphs, then sections."""

    title: str
    summary: str = ""
    intro: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def blocks(self) -> list[str]:
        """Every text block, in order (used for overlap and duplicate checks)."""
        out = [self.summary] if self.summary else []
        out += self.intro
        for section in self.sections:
            out += section.body
        return out

    @property
    def size(self) -> int:
        """How much lesson text this rendering carries; the fuller rendering wins a merge."""
        return sum(len(b) for b in self.blocks()) + sum(len(s.heading) for s in self.sections)


def render_blocks(blocks: Sequence[str]) -> str:
    """Join blocks: consecutive bullets on adjacent lines, everything else separated by a blank line."""
    out: list[str] = []
    for i, block in enumerate(blocks):
        if i:
            out.append("\n" if _is_bullet(block) and _is_bullet(blocks[i - 1]) else "\n\n")
        out.append(block)
    return "".join(out)


# ---------------------------------------------------------------------------------------------------------
# Line helpers
# ---------------------------------------------------------------------------------------------------------


def _is_bullet(line: str) -> bool:
    return line.startswith("- ")


def _words(line: str) -> int:
    return len(line.split())


def _has_terminal(line: str) -> bool:
    return line.rstrip().endswith(_TERMINAL)


def normalize(text: str) -> str:
    """Comparison key: case, punctuation, quotes, dashes and bullet markers do not matter."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"^\s*-\s+", "", text)
    return " ".join(re.findall(r"[a-z0-9]+", text))


def _strip_leading_symbols(line: str) -> str:
    """Drop emoji/pictographs in front of a line ("✍️Prompt Engineering"); keep `$`, quotes, brackets."""
    i = 0
    while i < len(line) and (unicodedata.category(line[i]) in ("So", "Mn", "Cf") or line[i] == "\ufe0f"):
        i += 1
    return line[i:].lstrip() if i else line


def _has_letters(line: str) -> bool:
    return any(ch.isalnum() for ch in line)


def _is_chrome_line(line: str) -> bool:
    return any(p.search(line) for p in _CHROME_LINES)


def _normalize_bullet(line: str) -> str:
    """`• item`, `* item`, `- 1Item` → `- item`; other lines unchanged ("-5 °C" and "**bold**" stay)."""
    match = _BULLET_ASCII.match(line) or _BULLET_UNICODE.match(line)
    if not match:
        return line
    item = _GLUED_NUMBER.sub("", match.group(1).strip())
    return f"- {item}" if item else ""


# ---------------------------------------------------------------------------------------------------------
# Cleaning passes
# ---------------------------------------------------------------------------------------------------------

_LABEL_TOKEN = "\x00SECTION\x00"


def _prepare_lines(raw: str) -> list[str]:
    """Normalize whitespace and characters, and re-join lines that were hard-wrapped mid-sentence."""
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\u200b", "")
    lines: list[str] = []
    prev_blank = True
    for raw_line in text.split("\n"):
        line = re.sub(r"^#{1,6}\s+", "", re.sub(r"[ \t]+", " ", raw_line).strip())  # Markdown pages
        if not line:
            prev_blank = True
            continue
        if (
            lines
            and not prev_blank
            and line[:1].islower()
            and len(lines[-1]) >= 50
            and not _has_terminal(lines[-1])
        ):
            lines[-1] = f"{lines[-1]} {line}"  # a wrapped continuation line
        else:
            lines.append(line)
        prev_blank = False
    return lines


def _remaining_has_label(lines: Sequence[str], start: int) -> bool:
    return any(_SECTION_LABEL.match(ln) for ln in lines[start:])


def _drop_blocks(lines: list[str]) -> list[str]:
    """Remove multi-line chrome: navigation, quizzes, related lists, series tables of contents.

    Blocks end at the next "Section N" label (pages interleave chrome with sections) or the end of
    the page. A navigation block with no section label after it only eats nav-looking lines, so a page
    that opens with a lesson map but has no labels does not lose its body.
    """
    out: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if _NAV_START.match(line):
            i += 1
            if _remaining_has_label(lines, i):
                while i < n and not _SECTION_LABEL.match(lines[i]):
                    i += 1
            else:
                while i < n and _looks_like_nav_item(lines, i):
                    i += 1
            continue
        if _QUIZ_START.match(line) or _RELATED_START.match(line):
            kind = "quiz" if _QUIZ_START.match(line) else "related list"
            start = i
            i += 1
            while i < n and not _SECTION_LABEL.match(lines[i]):
                i += 1
            log.debug("dropped %s (%d lines)", kind, i - start)
            continue
        if _SERIES_TOC.search(line):
            i += 1
            while i < n and _NUMBERED_ITEM.match(lines[i]):
                i += 1
            continue
        out.append(line)
        i += 1
    return out


def _looks_like_nav_item(lines: Sequence[str], i: int) -> bool:
    line = lines[i]
    if _NAV_START.match(line) or _NAV_SUBTITLE.match(line):
        return True
    if re.match(r"^-\s*\d{1,2}\S", line):  # "- 1The premise"
        return True
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    return _words(line) <= 4 and not _has_terminal(line) and (_words(nxt) <= 4 or _is_bullet(nxt))


def _drop_lines(lines: list[str]) -> list[str]:
    """Remove single chrome lines, emoji-only lines, the tutor box label and duplicated bylines."""
    out: list[str] = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if not _has_letters(line) or _is_chrome_line(line) or _NAV_SUBTITLE.match(line):
            continue
        if _TUTOR_LABEL.match(line) and re.match(r"^curious about\b", nxt, _I):
            continue
        out.append(line)
    while out and _TAIL_LABEL.match(out[-1]):
        out.pop()
    # An author byline is usually rendered twice (avatar alt text + name): drop short repeated name lines.
    result: list[str] = []
    i = 0
    while i < len(out):
        line = out[i]
        if (
            i + 1 < len(out)
            and out[i + 1] == line
            and _words(line) <= 4
            and not _has_terminal(line)
            and all(w[:1].isupper() for w in line.split())
        ):
            i += 2
            continue
        result.append(line)
        i += 1
    return result


def _field_lines(lines: list[str]) -> list[str]:
    """Card grids ("CHANGES / What you say to the model / EFFORTLow") → `- Changes: What you say…`.

    Only all-caps labels that come in a group count as field labels, so a lone acronym heading ("RAG",
    "FAQ") stays a heading.
    """
    split: list[str] = []
    for line in lines:
        match = _GLUED_FIELD.match(line)
        split.append(f"{match.group(1)}\x01{match.group(2)}" if match else line)

    def is_label(j: int) -> bool:
        return 0 <= j < len(split) and (bool(_CAPS_LABEL.match(split[j])) or "\x01" in split[j])

    out: list[str] = []
    i = 0
    while i < len(split):
        line = split[i]
        grouped = any(is_label(j) for j in range(i - 4, i + 5) if j != i)
        if "\x01" in line and grouped:
            label, value = line.split("\x01")
            out.append(f"- {label.capitalize()}: {value}")
            i += 1
            continue
        if (
            _CAPS_LABEL.match(line)
            and grouped
            and i + 1 < len(split)
            and not is_label(i + 1)
            and not _is_bullet(split[i + 1])
        ):
            out.append(f"- {line.capitalize()}: {split[i + 1]}")
            i += 2
            continue
        out.append(line.replace("\x01", ""))
        i += 1
    return out


def _find_title(lines: list[str]) -> int:
    """Index of the title: the first line that is followed by a sentence (the lesson's summary).

    Scraped pages put category tags, series names and bylines above the title; they are all short lines,
    so short lines before the title are dropped. If nothing in the first lines fits, the first line wins.
    """
    for i, line in enumerate(lines[:10]):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _words(line) > 20 or _SECTION_LABEL.match(line):
            break
        if _words(nxt) >= 8 and _has_terminal(nxt) and _words(nxt) > _words(line):
            if all(_words(ln) <= 5 for ln in lines[:i]):
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
    if _is_bullet(line) or line == _LABEL_TOKEN or not first.isalnum() or first.islower():
        return False
    words = _words(line)
    question = line.endswith("?")
    if words > (12 if question else 8) or (_has_terminal(line) and not question):
        return False
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    if not nxt or nxt == _LABEL_TOKEN:
        return False
    known = normalize(line) in _KNOWN_LABELS
    if prev_kind == "heading" and not known:
        return False  # a heading's first body line is not another heading
    if prev_kind == "item":
        return known or (words <= 5 and (_is_bullet(nxt) or _words(nxt) >= 2 * words))
    if known:
        return True
    return _is_bullet(nxt) or _has_terminal(nxt) and _words(nxt) > words or _words(nxt) > words + 2


def clean_page(raw: str) -> CleanLesson:
    """Strip page chrome from one scraped lesson page and recover its title, intro and sections."""
    lines = _prepare_lines(raw)
    lines = [_strip_leading_symbols(ln) for ln in lines]
    lines = _drop_blocks(lines)
    lines = _drop_lines(lines)
    lines = [_normalize_bullet(ln) for ln in lines]
    lines = [ln for ln in lines if ln]
    lines = _field_lines(lines)
    if not lines:
        return CleanLesson(title="")

    t = _find_title(lines)
    title = re.sub(r"(?<![.])\.$", "", lines[t]).strip()
    body = [ln for ln in lines[t + 1 :] if normalize(ln) != normalize(title)]
    body = [_LABEL_TOKEN if _SECTION_LABEL.match(ln) else ln for ln in body]
    explicit_mode = _LABEL_TOKEN in body

    lesson = CleanLesson(title=title)
    current: Section | None = None
    prev_kind = "heading"  # the title
    i = 0
    while i < len(body):
        line = body[i]
        if line == _LABEL_TOKEN:
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt and nxt != _LABEL_TOKEN and _words(nxt) <= 15 and not _has_terminal(nxt):
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
            prev_kind = "para" if _has_terminal(line) or _is_bullet(line) else "item"
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
        while j < len(out) and not _is_bullet(out[j]) and not _has_terminal(out[j]):
            j += 1
        if j - i >= 2:
            for k in range(i, j):
                out[k] = f"- {out[k]}"
        i = max(j, i + 1)
    return out


def _is_stub(block: str) -> bool:
    """ "Primary (free):" with nothing after it: a label whose list was empty on the page."""
    return block.endswith(":") and _words(block) <= 4


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
        if _is_bullet(block):
            if key in seen_here:
                continue
        elif key in seen_paragraphs:
            continue
        else:
            seen_paragraphs.add(key)
        seen_here.add(key)
        out.append(block)
    return out


# ---------------------------------------------------------------------------------------------------------
# Merging renderings
# ---------------------------------------------------------------------------------------------------------


def _shingles(lesson: CleanLesson, k: int = 5) -> set[tuple[str, ...]]:
    words = normalize(" ".join(lesson.blocks())).split()
    return {tuple(words[i : i + k]) for i in range(len(words) - k + 1)}


def same_lesson(a: CleanLesson, b: CleanLesson, threshold: float = 0.8) -> bool:
    """Same normalized title, or the smaller rendering's text is (almost) all inside the larger one."""
    if a.title and normalize(a.title) == normalize(b.title):
        return True
    sa, sb = _shingles(a), _shingles(b)
    small, large = (sa, sb) if len(sa) <= len(sb) else (sb, sa)
    return len(small) >= 10 and len(small & large) / len(small) >= threshold


def merge_renderings(lessons: list[CleanLesson]) -> list[CleanLesson]:
    """Merge renderings of the same lesson: keep the fuller one, add what only the others have.

    Order of first appearance is kept. A paragraph or bullet is added only if its normalized text is not
    already in the kept rendering, so nothing appears twice.
    """
    groups: list[list[CleanLesson]] = []
    for lesson in lessons:
        for group in groups:
            if same_lesson(group[0], lesson):
                group.append(lesson)
                break
        else:
            groups.append([lesson])
    merged: list[CleanLesson] = []
    for group in groups:
        ranked = sorted(group, key=lambda ls: ls.size, reverse=True)
        base = _copy(ranked[0])
        for other in ranked[1:]:
            _merge_into(base, other)
        base.sources = [s for ls in group for s in ls.sources]
        if len(group) > 1:
            log.info("merged %d renderings of %r", len(group), base.title)
        merged.append(base)
    return merged


def _copy(lesson: CleanLesson) -> CleanLesson:
    return CleanLesson(
        title=lesson.title,
        summary=lesson.summary,
        intro=list(lesson.intro),
        sections=[Section(s.heading, list(s.body), s.level, s.explicit) for s in lesson.sections],
        sources=list(lesson.sources),
    )


def _insert_missing(target: list[str], source: Sequence[str], present: set[str]) -> None:
    """Add blocks of `source` not in `present`, each right after the block that preceded it in `source`."""
    for j, block in enumerate(source):
        key = normalize(block)
        if not key or key in present:
            continue
        pos = len(target)
        if j:
            prev = normalize(source[j - 1])
            for k, existing in enumerate(target):
                if normalize(existing) == prev:
                    pos = k + 1
        target.insert(pos, block)
        present.add(key)


def _merge_into(base: CleanLesson, other: CleanLesson) -> None:
    present = {normalize(b) for b in base.blocks()}
    if not base.summary and other.summary:
        base.summary = other.summary
        present.add(normalize(other.summary))
    elif other.summary and normalize(other.summary) not in present:
        base.intro.insert(0, other.summary)
        present.add(normalize(other.summary))
    _insert_missing(base.intro, other.intro, present)

    last_index = -1
    for section in other.sections:
        index = _match_section(base, section)
        if index is None:
            novel = [b for b in section.body if normalize(b) and normalize(b) not in present]
            if not novel and section.body:
                continue
            added = Section(section.heading, [], section.level, section.explicit)
            _insert_missing(added.body, novel, present)
            last_index = last_index + 1 if last_index >= 0 else len(base.sections)
            base.sections.insert(last_index, added)
        else:
            _insert_missing(base.sections[index].body, section.body, present)
            last_index = index


def _match_section(base: CleanLesson, section: Section) -> int | None:
    """The base section with the same heading that shares the most text (or the only one so named)."""
    key = normalize(section.heading)
    same = [i for i, s in enumerate(base.sections) if normalize(s.heading) == key]
    if not same:
        return None
    mine = {normalize(b) for b in section.body}
    best = max(same, key=lambda i: len(mine & {normalize(b) for b in base.sections[i].body}))
    if mine & {normalize(b) for b in base.sections[best].body} or len(same) == 1:
        return best
    return None


# ---------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------


def slugify(title: str, max_len: int = MAX_ID_LEN) -> str:
    """Lowercase ASCII words joined by hyphens, cut at a word boundary so ids stay readable."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    slug = "-".join(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", ascii_title))
    slug = re.sub(r"-{2,}", "-", slug).strip("-")
    if len(slug) > max_len:
        cut = slug[: max_len + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else slug[:max_len]
    return slug or "lesson"


def _yaml_str(value: str) -> str:
    """JSON string syntax is valid YAML and survives colons, quotes and non-ASCII in titles."""
    return json.dumps(value, ensure_ascii=False)


def to_markdown(lesson: CleanLesson, lesson_id: str, course: str, source: str) -> str:
    """Front matter (id, title, course, source), `# Title`, intro, then `##`/`###` sections."""
    parts = [
        "---",
        f"id: {_yaml_str(lesson_id)}",
        f"title: {_yaml_str(lesson.title)}",
        f"course: {_yaml_str(course)}",
        f"source: {_yaml_str(source)}",
        "---",
        "",
        f"# {lesson.title}",
    ]
    intro = ([lesson.summary] if lesson.summary else []) + lesson.intro
    if intro:
        parts += ["", render_blocks(intro)]
    for section in lesson.sections:
        parts += ["", f"{'#' * section.level} {section.heading}"]
        if section.body:
            parts += ["", section.body_text]
    return "\n".join(parts) + "\n"


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
