"""The systems an eval compares, behind one small face: answer a row, rank passages, read the index back.

`TutorSystem` is the project exactly as a learner runs it: `tutor.ask` for answers and
`tutor.retriever.retrieve` for rankings, nothing private. The naive baseline (`evals/baseline.py`)
implements the same methods, so both are scored by the same code on the same questions.
"""

from __future__ import annotations

import logging
from typing import Protocol

from evals.datasets import EvalRow
from tutor.answer import Answer, Passage
from tutor.pipeline import Tutor
from tutor.retrieve.hybrid import Scope

log = logging.getLogger(__name__)


class EvalSystem(Protocol):
    name: str

    def answer(self, row: EvalRow) -> Answer:
        """The system's reply to the row's question (with its lesson scope and history)."""
        ...

    def rank(self, question: str, k: int) -> list[Passage]:
        """The top-k passages over ALL lessons, best first (retrieval metrics)."""
        ...

    def chunk_text(self, lesson_id: str, chunk_id: str) -> str | None:
        """The stored text of a cited chunk, read back from the system's own index."""
        ...


class TutorSystem:
    """The tutor through its public API."""

    name = "project"

    def __init__(self, tutor: Tutor) -> None:
        self.tutor = tutor
        self._chunks: dict[str, dict[str, str]] = {}
        self._lessons: dict[str, str | None] = {}

    def answer(self, row: EvalRow) -> Answer:
        return self.tutor.ask(row.question, lesson_id=row.lesson_id, history=list(row.history) or None)

    def rank(self, question: str, k: int) -> list[Passage]:
        return self.tutor.retriever.retrieve(question, Scope(), k=k)

    def chunk_text(self, lesson_id: str, chunk_id: str) -> str | None:
        if lesson_id not in self._chunks:
            passages = self.tutor.store.passages({"lesson_id": lesson_id})
            self._chunks[lesson_id] = {p.chunk_id: p.text for p in passages}
        return self._chunks[lesson_id].get(chunk_id)

    def lesson_text(self, lesson_id: str) -> str | None:
        """The lesson text as indexed (what citations' start/end point into)."""
        if lesson_id not in self._lessons:
            record = self.tutor.lesson(lesson_id)
            self._lessons[lesson_id] = record.text if record is not None else None
        return self._lessons[lesson_id]
