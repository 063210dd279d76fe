"""Verify and cite a drafted answer: every kept sentence stands on a verbatim quote from a passage.

A draft's sentences carry `[n]` markers (passage n). Each sentence is checked against the passages it
cites (LLM drafts only; extractive drafts are the lesson's own words). Unsupported sentences are dropped;
the rest get citations renumbered in order of appearance, each with its quote and lesson span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tutor.answer import Citation, Passage
from tutor.generate.draft import Draft, parse_draft
from tutor.ground.evidence import Sentence, split_sentences
from tutor.ground.support import SupportScorer

_FRAMING = re.compile(r"^Under “[^”]{1,80}”:\s*")


@dataclass
class CitedAnswer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def cite(
    draft: Draft | str, passages: list[Passage], scorer: SupportScorer | None, verify: bool, lead: str = ""
) -> CitedAnswer:
    """Check each claim (when `verify`), pick its verbatim quote, renumber the markers.

    A claim that carries its quote (the extractive backend's) is cited as is when not verifying; any other
    claim is matched to the passage sentence it rests on."""
    if isinstance(draft, str):
        draft = parse_draft(draft, lead)
    result = CitedAnswer("")
    kept: list[str] = []
    key_to_n: dict[tuple[str, int], int] = {}
    for item in draft.claims:
        shown = item.text
        claim = strip_framing(shown)
        if not re.search(r"[A-Za-z]{2}", claim):
            continue
        if item.quote is not None and not verify:
            kept.append(_attach(shown, item.quote, key_to_n, result))
            continue
        cited = [passages[n - 1] for n in item.passages if 0 < n <= len(passages)]
        candidates = cited or passages
        quote = _best_quote(claim, candidates, scorer)
        if quote is None or (verify and (scorer is None or not scorer.supported(claim, quote_context(quote)))):
            if verify and cited and quote is not None:
                quote = _best_quote(claim, passages, scorer)  # cited the wrong passage?
                if quote is not None and scorer is not None and scorer.supported(claim, quote_context(quote)):
                    kept.append(_attach(shown, quote, key_to_n, result))
                    continue
            result.dropped.append(shown)
            continue
        kept.append(_attach(shown, quote, key_to_n, result))
    result.text = (draft.lead + " ".join(kept)) if kept else ""
    return result


def strip_framing(sentence: str) -> str:
    """The claim itself, without the 'Under “Heading”: ' lead-in the extractive answer puts before list items."""
    return _FRAMING.sub("", sentence).strip()


def quote_context(sentence: Sentence) -> str:
    """The quoted sentence with its passage, so a claim spanning two sentences can still be supported."""
    return sentence.passage.text


def _attach(claim: str, quote: Sentence, key_to_n: dict[tuple[str, int], int], result: CitedAnswer) -> str:
    key = (quote.passage.chunk_id, quote.start)
    if key not in key_to_n:
        key_to_n[key] = len(key_to_n) + 1
        p = quote.passage
        result.citations.append(
            Citation(
                n=key_to_n[key],
                lesson_id=p.lesson_id,
                chunk_id=p.chunk_id,
                section=quote_section(quote),
                quote=quote.text,
                start=quote.start,
                end=quote.end,
                title=p.title,
            )
        )
    return f"{claim} [{key_to_n[key]}]"


def quote_section(quote: Sentence) -> str:
    """The chunk's section, refined by the last heading inside the chunk before the quote."""
    return quote.heading or quote.passage.section


def _best_quote(claim: str, passages: list[Passage], scorer: SupportScorer | None) -> Sentence | None:
    """The passage sentence the claim rests on: an exact match if there is one, else the best supporter."""
    sentences = [s for p in passages for s in split_sentences(p)]
    if not sentences:
        return None
    normalized = _norm(strip_framing(claim))
    for sentence in sentences:
        quoted = _norm(sentence.text)
        if quoted == normalized or (len(normalized) > 20 and normalized in quoted):
            return sentence
    for sentence in sentences:  # a quote introduced by its context: 'Under "What AI cannot do": <quote>'
        quoted = _norm(sentence.text)
        if len(quoted) > 12 and normalized.endswith(quoted):
            return sentence
    if scorer is None:
        return None
    return max(sentences, key=lambda s: scorer.score(claim, s.text))


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()
