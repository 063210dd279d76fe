"""What the tutor returns: an answer, whether it refused, and the passages it stands on.

These are plain dataclasses so the CLI, the HTTP API, the UI and the evals all share one JSON shape.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Passage:
    """A retrieved stretch of one lesson, with where it sits in the lesson text."""

    chunk_id: str
    lesson_id: str
    title: str
    course: str
    section: str
    text: str
    start: int
    end: int
    score: float = 0.0


@dataclass(frozen=True)
class Citation:
    """One `[n]` marker: the verbatim quote that supports it and its span in the lesson text."""

    n: int
    lesson_id: str
    chunk_id: str
    section: str
    quote: str
    start: int
    end: int
    title: str = ""


@dataclass
class Answer:
    """The tutor's reply to one question."""

    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    backend: str = "extractive"
    fallback: bool = False  # an LLM backend failed or said nothing supported: the text quotes the lesson
    fallback_reason: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    question: str = ""
    standalone_question: str = ""
    lesson_id: str | None = None
    passages: list[Passage] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    gate: dict[str, Any] = field(default_factory=dict)
    course: str | None = None
    # Names this answer for feedback (one vote per answer) and the questions log; random, so it says nothing
    # about who asked.
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_dict(self, include_passages: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if not include_passages:
            data.pop("passages")
        return data


def answer_json(answer: Answer) -> dict[str, Any]:
    """The public JSON of an answer (CLI `--json`, HTTP API)."""
    data = answer.to_dict(include_passages=False)
    return {
        k: data[k]
        for k in (
            "id",
            "answer",
            "refused",
            "citations",
            "backend",
            "fallback",
            "timings_ms",
            "dropped",
            "gate",
            "lesson_id",
            "question",
        )
    }
