"""What a backend hands to verification: claims, each with the passages it cites and, when the backend
quoted the lesson itself (extractive), the exact `Sentence` it quoted, so nothing is re-parsed or re-found."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tutor.ground.evidence import Sentence
from tutor.text import marker_numbers, strip_markers

# A sentence of an LLM draft, with the citation markers that follow its end punctuation.
_DRAFT_SENTENCE = re.compile(r".+?(?:[.!?](?:\s*\[\d+(?:\s*,\s*\d+)*\])*(?=\s|$)|$)", re.DOTALL)


@dataclass(frozen=True)
class Claim:
    """One answer sentence as shown (markers removed), the 1-based passages it cites, its quote if known."""

    text: str
    passages: tuple[int, ...] = ()
    quote: Sentence | None = None


@dataclass
class Draft:
    """An answer before verification: an optional lead-in ("Here's what the lesson says:") and its claims."""

    claims: list[Claim] = field(default_factory=list)
    lead: str = ""

    @property
    def text(self) -> str:
        return self.lead + " ".join(c.text + "".join(f" [{n}]" for n in c.passages) for c in self.claims)


def draft_sentences(text: str) -> list[str]:
    """Answer sentences, each keeping the markers that follow it."""
    return [s.strip() for s in _DRAFT_SENTENCE.findall(text.strip()) if s.strip()]


def parse_draft(text: str, lead: str = "") -> Draft:
    """A model's free text as claims: the one place answer text is parsed (LLM output is text)."""
    body = text[len(lead) :] if lead and text.startswith(lead) else text
    claims = [Claim(strip_markers(s).strip(), tuple(marker_numbers(s))) for s in draft_sentences(body)]
    return Draft([c for c in claims if c.text], lead)
