"""The default backend: no LLM. Quotes the one to three lesson sentences that best answer the question.

Every sentence it says is the lesson's own, so its citations are valid by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tutor.answer import Passage
from tutor.generate.draft import Claim, Draft
from tutor.generate.templates import load_prompt
from tutor.ground.evidence import Sentence

_FOLLOW_UP = re.compile(
    r"^(and|but|so|why|how come|what about|how about|tell me more|more|really|then)\b|"
    r"\b(it|that|this|these|those|they|them|its|there)\b",
    re.IGNORECASE,
)


class ExtractiveBackend:
    name = "extractive"
    uses_llm = False
    max_sentences = 3
    keep_ratio = 0.8  # a further sentence must score at least this share of the best one

    @classmethod
    def from_settings(cls, settings: object) -> ExtractiveBackend:
        return cls()

    def draft(self, question: str, passages: list[Passage], sentences: list[Sentence]) -> Draft:
        """The chosen sentences as claims that carry their own quotes, in lesson order."""
        chosen = self.select(sentences)
        if not chosen:
            return Draft()
        number = {p.chunk_id: i for i, p in enumerate(passages, 1)}
        claims = []
        for sentence in sorted(chosen, key=lambda s: (s.passage.lesson_id, s.start)):
            text = sentence.text.rstrip()
            if not re.search(r"[.!?]$", text):
                text += "."
            claims.append(Claim(f"{list_context(sentence)}{text}", (number[sentence.passage.chunk_id],), sentence))
        return Draft(claims, load_prompt("refusal")["answer_lead"])

    def generate(self, question: str, passages: list[Passage], sentences: list[Sentence]) -> Iterator[str]:
        draft = self.draft(question, passages, sentences)
        if draft.claims:
            yield draft.text

    def select(self, sentences: list[Sentence]) -> list[Sentence]:
        """The best sentence, plus up to two more nearly as good (best first in `sentences`)."""
        if not sentences:
            return []
        best = sentences[0].score
        chosen: list[Sentence] = []
        for sentence in sentences:
            if len(chosen) == self.max_sentences:
                break
            if chosen and sentence.score < best * self.keep_ratio:
                break
            if any(sentence.text == c.text for c in chosen):
                continue
            chosen.append(sentence)
        return chosen

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        """Without an LLM: a short follow-up borrows the words of the learner's previous question."""
        previous = [t["content"] for t in history if t.get("role") == "user" and t.get("content")]
        if not previous or len(question.split()) > 12 or not _FOLLOW_UP.search(question):
            return question
        return f"{question} ({previous[-1]})"


def list_context(sentence: Sentence) -> str:
    """A list item quoted alone can say the opposite of its lesson ("Replace prompting entirely with fine-tuning"
    under "What AI cannot do"), so it is introduced with the heading or lead-in line its list sits under."""
    text = sentence.passage.text
    offset = sentence.start - sentence.passage.start
    line_start = text.rfind("\n", 0, offset) + 1
    if not re.match(r"\s*(?:[-*+]|\d+[.)])\s", text[line_start : offset + 1]):
        return ""
    for line in reversed(text[:line_start].splitlines()):
        stripped = line.strip()
        if not stripped or re.match(r"(?:[-*+]|\d+[.)])\s", stripped):
            continue
        lead = re.sub(r"^#+\s*", "", stripped).rstrip(":.")
        return f"Under “{lead}”: " if len(lead) <= 80 else ""
    section = sentence.passage.section.split(" > ")[-1] if sentence.passage.section else ""
    return f"Under “{section}”: " if section else ""
