"""The default backend: no LLM. Quotes the one to three lesson answer units that best answer the question.

Every sentence it says is the lesson's own, so its citations are valid by construction.
"""

from __future__ import annotations

from collections.abc import Iterator

from tutor.answer import Passage
from tutor.generate.draft import Claim, Draft
from tutor.generate.templates import load_prompt
from tutor.ground.evidence import Sentence
from tutor.ground.units import AnswerUnit, answer_units
from tutor.text import strip_markers


class ExtractiveBackend:
    name = "extractive"
    uses_llm = False
    max_units = 3
    max_words = 110  # short and friendly: further units are added only while the answer stays this short
    keep_ratio = 0.6  # a further unit must score at least this share of the best one

    @classmethod
    def from_settings(cls, settings: object) -> ExtractiveBackend:
        return cls()

    def draft(self, question: str, passages: list[Passage], sentences: list[Sentence]) -> Draft:
        """The chosen answer units as claims that carry their own quotes, in lesson order."""
        chosen = self.select(question, sentences)
        if not chosen:
            return Draft()
        number = {p.chunk_id: i for i, p in enumerate(passages, 1)}
        several = len({u.core.passage.lesson_id for u in chosen}) > 1
        claims = []
        for unit in sorted(chosen, key=lambda u: (u.core.passage.lesson_id, u.quote.start)):
            text = f"From “{unit.core.passage.title}”: {unit.text}" if several else unit.text
            claims.append(Claim(text, (number[unit.core.passage.chunk_id],), unit.quote))
        return Draft(claims, load_prompt("refusal")["answer_lead"])

    def generate(self, question: str, passages: list[Passage], sentences: list[Sentence]) -> Iterator[str]:
        draft = self.draft(question, passages, sentences)
        if draft.claims:
            yield draft.text

    def select(self, question: str, sentences: list[Sentence]) -> list[AnswerUnit]:
        """The best answer unit, plus up to two more nearly as good (`sentences` best first). `answer_units`
        never puts a sentence in two units, and never offers restatements, outline bullets or quiz lines."""
        units = answer_units(question, sentences)
        if not units:
            return []
        best = units[0].core.score
        chosen: list[AnswerUnit] = []
        words = 0
        for unit in units:
            if len(chosen) == self.max_units or (chosen and unit.core.score < best * self.keep_ratio):
                break
            size = len(unit.text.split())
            if chosen and words + size > self.max_words:
                continue
            chosen.append(unit)
            words += size
        return chosen

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        """Without an LLM: a follow-up borrows the words of the learner's previous question and of the
        tutor's previous answer (what "that" or "the three steps" most likely points at)."""
        previous = [t["content"] for t in history if t.get("role") == "user" and t.get("content")]
        answers = [t["content"] for t in history if t.get("role") == "assistant" and t.get("content")]
        if not previous or len(question.split()) > 12:
            return question
        said = strip_markers(answers[-1]).removeprefix(load_prompt("refusal")["answer_lead"]) if answers else ""
        said = " ".join(said.split()[:40])
        return f"{question} ({previous[-1]} {said})".replace(" )", ")")
