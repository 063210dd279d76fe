"""The one text toolkit: content words, sentences with offsets, citation markers, Markdown structure.

Retrieval, grounding, starters and the evals all read text through these, so a change here changes
them together (and the calibrated gate and support weights were fitted on exactly this behaviour).
"""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    "a an and are as at be been being but by can could did do does for from had has have how i if in into is it "
    "its me my of on or our so than that the their them then there these they this those to was we were what "
    "when where which who whom why will with would you your about should much many more most also just very "
    "not no yes any some such only own same too s t".split()
)


def terms(text: str) -> list[str]:
    """Lowercased content words with a light plural fold, shared by BM25 and the lexical gate."""
    out = []
    for word in re.findall(r"[a-z0-9]+(?:[-'][a-z0-9]+)*", text.lower()):
        if word in STOPWORDS:
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


def stem(word: str) -> str:
    """A crude prefix stem so `located`/`location` and `Norse`/`Norseman` match; recall matters more here."""
    word = word.lower()
    return word[:5] if len(word) > 5 else word


def content_stems(text: str) -> list[str]:
    """Stems of the content words of `text`, in order (duplicates kept for bigrams)."""
    return [stem(t) for t in terms(text)]


# --- sentences -----------------------------------------------------------------------------------
# A sentence ends at . ! or ? (closing quotes/brackets may follow) before a capital, digit or opening quote,
# and at every line break (a list item or table row is a unit of its own).
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank sentence of `text`, whitespace trimmed, in order."""
    spans = []
    cursor = 0
    for match in [*SENTENCE_END.finditer(text), None]:
        stop = match.start() if match else len(text)
        piece = text[cursor:stop]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((cursor + lead, cursor + lead + len(piece.strip())))
        cursor = match.end() if match else len(text)
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of `text` (see `SENTENCE_END`)."""
    return [text[a:b] for a, b in sentence_spans(text)]


# --- citation markers ----------------------------------------------------------------------------
MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")  # " [2]" or " [1, 3]": passage numbers
MARKER_RUN = re.compile(r"((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)")  # one or more markers in a row


def strip_markers(text: str) -> str:
    """The text without its `[n]` citation markers."""
    return MARKER.sub("", text or "")


def marker_numbers(text: str) -> list[int]:
    """Every passage number cited in `text`, in order."""
    return [int(n) for group in MARKER.findall(text) for n in re.split(r"\s*,\s*", group)]


# --- Markdown structure --------------------------------------------------------------------------
FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$", re.MULTILINE)
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def code_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each fenced code block, fences included. A block opened by ``` closes only at a
    ``` line at least as long (likewise ~~~), as in CommonMark; an unclosed block runs to the end."""
    spans = []
    opened: tuple[int, str] | None = None
    for match in FENCE.finditer(text):
        fence, rest = match.group(1), match.group(2)
        if opened is None:
            opened = (match.start(), fence)
        elif fence[0] == opened[1][0] and len(fence) >= len(opened[1]) and not rest.strip():
            spans.append((opened[0], match.end()))
            opened = None
    if opened is not None:
        spans.append((opened[0], len(text)))
    return spans


def in_spans(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= position < b for a, b in spans)


def markdown_headings(text: str) -> list[tuple[int, str, int]]:
    """(level, raw title, offset) of each ATX heading outside fenced code: `# x` in code is not a heading."""
    code = code_spans(text)
    return [(len(m.group(1)), m.group(2), m.start()) for m in HEADING.finditer(text) if not in_spans(m.start(), code)]
