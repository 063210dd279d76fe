"""Site chrome removal: turn a scraped page into clean text lines with menus, quizzes and bylines gone.

Pages copied out of a learning site arrive as flat text: one line per block, with the site's chrome
(navigation, quizzes, "related lessons", newsletter boxes, bylines) mixed in. Indexing that as-is would make
the tutor quote quiz distractors and menu labels as if they were lesson content, so chrome is stripped here by
*generic* patterns (the cleaner runs on pages that are not in this repo). Recovering headings and sections from
the lines that remain is `page_structure`'s job.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence

from corpus.tools.page_lesson import has_terminal, is_bullet, word_count

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------------------
# Chrome patterns. Matched against a stripped line, case-insensitively unless noted.
# ---------------------------------------------------------------------------------------------------------

_I = re.IGNORECASE

#: "Section 3" style labels: dropped, but the line after them is a section heading.
SECTION_LABEL = re.compile(r"^(section|module|unit|chapter)\s+\d+$", _I)

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

#: List markers as scraped: Markdown ones and the Unicode bullets sites render.
_BULLET_ASCII = re.compile(r"^[-*+]\s+(.*)$")
_BULLET_UNICODE = re.compile(r"^[•●▪◦‣–]\s*(.*)$")
#: "- 1The premise" — a list number glued to the item text by the scraper.
_GLUED_NUMBER = re.compile(r"^(\d{1,2})(?=[A-Z][a-z])")
#: "EFFORTLow" — an all-caps field label glued to its value.
_GLUED_FIELD = re.compile(r"^([A-Z]{4,})([A-Z][a-z]+)$")
#: An all-caps card field label ("CHANGES", "BEST FOR").
_CAPS_LABEL = re.compile(r"^[A-Z][A-Z&/-]{2,}( [A-Z][A-Z&/-]{2,})?$")


# ---------------------------------------------------------------------------------------------------------
# Line helpers
# ---------------------------------------------------------------------------------------------------------


def _strip_leading_symbols(line: str) -> str:
    """Drop emoji/pictographs in front of a line ("✍️Prompt Engineering"); keep `$`, quotes, brackets."""
    i = 0
    while i < len(line) and (unicodedata.category(line[i]) in ("So", "Mn", "Cf") or line[i] == "\ufe0f"):
        i += 1
    return line[i:].lstrip() if i else line


def _has_letters(line: str) -> bool:
    """Emoji-only and rule lines carry no lesson text."""
    return any(ch.isalnum() for ch in line)


def _is_chrome_line(line: str) -> bool:
    """Whether a single line is site chrome (progress, bylines, breadcrumbs, newsletter prompts)."""
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
        if lines and not prev_blank and line[:1].islower() and len(lines[-1]) >= 50 and not has_terminal(lines[-1]):
            lines[-1] = f"{lines[-1]} {line}"  # a wrapped continuation line
        else:
            lines.append(line)
        prev_blank = False
    return lines


def _remaining_has_label(lines: Sequence[str], start: int) -> bool:
    """Whether a later "Section N" label exists to end a chrome block; without one a block must stop early."""
    return any(SECTION_LABEL.match(ln) for ln in lines[start:])


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
                while i < n and not SECTION_LABEL.match(lines[i]):
                    i += 1
            else:
                while i < n and _looks_like_nav_item(lines, i):
                    i += 1
            continue
        if _QUIZ_START.match(line) or _RELATED_START.match(line):
            kind = "quiz" if _QUIZ_START.match(line) else "related list"
            start = i
            i += 1
            while i < n and not SECTION_LABEL.match(lines[i]):
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
    """Short unpunctuated lines in a run (menu entries), so a label-less nav block ends where prose starts."""
    line = lines[i]
    if _NAV_START.match(line) or _NAV_SUBTITLE.match(line):
        return True
    if re.match(r"^-\s*\d{1,2}\S", line):  # "- 1The premise"
        return True
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    return word_count(line) <= 4 and not has_terminal(line) and (word_count(nxt) <= 4 or is_bullet(nxt))


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
            and word_count(line) <= 4
            and not has_terminal(line)
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
            and not is_bullet(split[i + 1])
        ):
            out.append(f"- {line.capitalize()}: {split[i + 1]}")
            i += 2
            continue
        out.append(line.replace("\x01", ""))
        i += 1
    return out


def strip_chrome(raw: str) -> list[str]:
    """All chrome passes in order: the page's remaining text lines, bullets normalized to `- `.

    Order matters: emoji go before pattern matching, blocks before single lines (a block's end marker may
    itself look like a chrome line), and bullets are normalized before card fields are turned into bullets.
    """
    lines = _prepare_lines(raw)
    lines = [_strip_leading_symbols(ln) for ln in lines]
    lines = _drop_blocks(lines)
    lines = _drop_lines(lines)
    lines = [_normalize_bullet(ln) for ln in lines]
    lines = [ln for ln in lines if ln]
    return _field_lines(lines)
