"""The cleaned-lesson data model and the small text predicates every page-cleaning step shares.

Why a separate module: chrome removal, structure recovery, merging and Markdown output all reason about the
same blocks (a paragraph or a single `- ` bullet line) with the same notion of "ends like a sentence" and the
same comparison key; defining them once keeps those steps consistent with each other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

#: Line endings that make a line read as (the end of) a sentence rather than a label or heading.
TERMINAL = (".", "!", "?", ":", ";", ",", "…", '."', ".”", "!”", "?”")


def is_bullet(line: str) -> bool:
    """Whether a block is a normalized `- ` bullet."""
    return line.startswith("- ")


def word_count(line: str) -> int:
    """Whitespace-separated words; heading and title detection is mostly by length."""
    return len(line.split())


def has_terminal(line: str) -> bool:
    """Whether a line ends with sentence punctuation (headings and list labels do not)."""
    return line.rstrip().endswith(TERMINAL)


def normalize(text: str) -> str:
    """Comparison key: case, punctuation, quotes, dashes and bullet markers do not matter."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"^\s*-\s+", "", text)
    return " ".join(re.findall(r"[a-z0-9]+", text))


def render_blocks(blocks: Sequence[str]) -> str:
    """Join blocks: consecutive bullets on adjacent lines, everything else separated by a blank line."""
    out: list[str] = []
    for i, block in enumerate(blocks):
        if i:
            out.append("\n" if is_bullet(block) and is_bullet(blocks[i - 1]) else "\n\n")
        out.append(block)
    return "".join(out)


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
