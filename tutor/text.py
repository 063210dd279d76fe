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
    # light verbs and fillers: "When should I use RAG?" asks about RAG, not about using
    + "use used uses using actually really basically exactly usually".split()
)


def terms(text: str) -> list[str]:
    """Lowercased content words with a light plural fold, shared by BM25 and the lexical gate.

    A hyphenated word also yields its parts, so "three steps" meets "a three-step process" and "fine tuning"
    meets "fine-tuning"."""
    out = []
    for word in re.findall(r"[a-z0-9]+(?:[-'][a-z0-9]+)*", text.lower()):
        parts = word.split("-") if "-" in word else []
        for token in (word, *parts):
            if token in STOPWORDS or (token in parts and len(token) < 3):
                continue
            if len(token) > 4 and token.endswith("s") and not token.endswith("ss"):
                token = token[:-1]
            out.append(token)
    return out


_QUOTED_SPAN = re.compile(r"'[^']*'|\"[^\"]*\"|“[^”]*”|‘[^’]*’")


def unquoted(text: str) -> str:
    """`text` without its quoted spans: the options of "Is it 'A', 'B' or 'C'?" are candidates the learner
    offers, not things the question says."""
    return _QUOTED_SPAN.sub(" ", text)


def stem(word: str) -> str:
    """A crude prefix stem so `located`/`location` and `Norse`/`Norseman` match; recall matters more here."""
    word = word.lower()
    return word[:5] if len(word) > 5 else word


def content_stems(text: str) -> list[str]:
    """Stems of the content words of `text`, in order (duplicates kept for bigrams)."""
    return [stem(t) for t in terms(text)]


# --- sentences -----------------------------------------------------------------------------------
# A sentence ends at . ! or ? (closing quotes/brackets may follow) before a capital, digit or opening quote,
# and at a line break that ends a line of its own: a blank line, a list item, heading, table row, quote or
# "Field: value" line after it, or a line before it that ends a clause or is short like a title. A paragraph
# hard-wrapped at 80 columns is one text, not a sentence a line.
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n+")
_BLOCK_START = re.compile(r"[ \t]*(?:[-*+]\s|\d+[.)]\s|#|\||>|`{3}|~{3}|[A-Z][\w /&-]{0,30}:\s)")
_WRAPPED_LINE = 40  # a line without end punctuation at least this long was wrapped, not ended


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank sentence of `text`, whitespace trimmed, in order."""
    spans = []
    cursor = 0
    for match in [*(m for m in SENTENCE_END.finditer(text) if _ends_sentence(text, m)), None]:
        stop = match.start() if match else len(text)
        piece = text[cursor:stop]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((cursor + lead, cursor + lead + len(piece.strip())))
        cursor = match.end() if match else len(text)
    return spans


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Whether a `SENTENCE_END` match ends a sentence: always after . ! ?, and at a single line break only
    when the line ends a clause or is short, or the next line starts a block of its own."""
    if match.group(0)[0] != "\n" or match.group(0).count("\n") > 1:
        return True
    line_start = text.rfind("\n", 0, match.start()) + 1
    line = text[line_start : match.start()].rstrip()
    line_end = text.find("\n", match.end())
    next_line = text[match.end() : line_end if line_end >= 0 else len(text)]
    if not line or _BLOCK_START.match(next_line) or re.search(r"[.!?:;\"')\]|]$", line):
        return True
    return len(line.lstrip(" \t-*+>0123456789.)")) < _WRAPPED_LINE


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
