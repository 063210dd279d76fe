"""Grounding checks on one answer: are its citations real, and is each answer sentence supported?

A citation is only worth something if a learner who clicks it lands on exactly the quoted words, so each
one is checked against the index itself (the chunk's stored text and the lesson text the UI highlights
in), never against the answer's own copy of the passages. Support is judged by the tutor's own
`SupportScorer`, the same judge the pipeline uses to drop unsupported LLM sentences.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evals.metrics import answer_claims, citation_problem
from tutor.answer import Answer

log = logging.getLogger(__name__)

LessonLookup = Callable[[str], "str | None"]
ChunkLookup = Callable[[str, str], "str | None"]


@dataclass
class GroundingResult:
    """Counts for one answer plus what went wrong, for the report's failure lists."""

    citations: int = 0
    valid: int = 0
    sentences: int = 0
    supported: int = 0
    judged: int = 0
    judge_supported: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "citations": self.citations,
            "valid_citations": self.valid,
            "sentences": self.sentences,
            "supported_sentences": self.supported,
            "judged_sentences": self.judged,
            "judge_supported_sentences": self.judge_supported,
            "citation_problems": self.problems,
            "unsupported_sentences": self.unsupported,
        }


class GroundingChecker:
    """Checks answers against an index: `lesson_text(lesson_id)` and `chunk_text(lesson_id, chunk_id)` read it."""

    def __init__(
        self, lesson_text: LessonLookup, chunk_text: ChunkLookup, support: Any, lead: str = "", judge: Any = None
    ) -> None:
        self.lesson_text = lesson_text
        self.chunk_text = chunk_text
        self.support = support
        self.lead = lead
        self.judge = judge  # optional LLM judge with .supported(claim, evidence)

    def check(self, answer: Answer) -> GroundingResult:
        result = GroundingResult()
        if answer.refused:
            return result
        by_n = {c.n: c for c in answer.citations}
        for c in answer.citations:
            result.citations += 1
            chunk = self.chunk_text(c.lesson_id, c.chunk_id)
            problem = citation_problem(c.quote, c.start, c.end, chunk, self.lesson_text(c.lesson_id))
            if problem is None:
                result.valid += 1
            else:
                result.problems.append({"n": c.n, "chunk_id": c.chunk_id, "quote": c.quote, "problem": problem})
        for claim, numbers in answer_claims(answer.answer, self.lead):
            result.sentences += 1
            evidence = []
            for n in numbers:
                if n in by_n:
                    evidence.append(by_n[n].quote)
                    evidence.append(self.chunk_text(by_n[n].lesson_id, by_n[n].chunk_id) or "")
            if any(text and self.support.supported(claim, text) for text in evidence):
                result.supported += 1
            else:
                result.unsupported.append(claim)
            if self.judge is not None and evidence:
                result.judged += 1
                result.judge_supported += self.judge.supported(claim, "\n".join(dict.fromkeys(evidence)))
        return result
