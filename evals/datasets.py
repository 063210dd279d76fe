"""Question files and the suites built on them: load, validate, and say which corpus each one runs over.

A malformed row should stop an eval before any model loads, with the file and line to fix, rather than
surface later as a confusing metric. Each suite also gets its own data dir so an eval never rebuilds or
pollutes the learner's own index.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.settings import bundled_corpus

log = logging.getLogger(__name__)

DATASET_DIR = Path(__file__).resolve().parent / "datasets"

_ROLES = ("user", "assistant")


class DatasetError(ValueError):
    """A question file that cannot be used as is; the message names the file and line."""


@dataclass(frozen=True)
class EvalRow:
    """One question of a dataset (see `evals/datasets/README.md` for the fields)."""

    id: str
    question: str
    answerable: bool
    lesson_id: str | None = None
    reference: str = ""
    key_facts: tuple[str, ...] = ()
    gold_lessons: tuple[str, ...] = ()
    gold_chunks: tuple[str, ...] = ()
    history: tuple[dict[str, str], ...] = ()
    category: str = ""
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answerable": self.answerable,
            "lesson_id": self.lesson_id,
            "reference": self.reference,
            "key_facts": list(self.key_facts),
            "gold_lessons": list(self.gold_lessons),
            "gold_chunks": list(self.gold_chunks),
            "history": list(self.history),
            "category": self.category,
        }


@dataclass(frozen=True)
class Suite:
    """A dataset, the lesson folders it is asked over, and how its key facts are meant.

    `key_fact_mode` is "all" when key facts are parts of one answer (share found), "any" when they are
    alternative annotations of the same answer (SQuAD: found if any is in the answer). `kind` is "qa" for
    question answering, "retrieval" for a BEIR-style retrieval-only suite.
    """

    name: str
    dataset: Path
    corpus: tuple[Path, ...]
    kind: str = "qa"
    key_fact_mode: str = "all"
    data_key: str = ""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def data_dir(self, home: Path) -> Path:
        """Where this suite keeps its own index: never the learner's `TUTOR_HOME` index itself."""
        return Path(home) / "evals" / (self.data_key or self.name)


SUITES: dict[str, Suite] = {
    "seed": Suite(
        "seed",
        DATASET_DIR / "seed.jsonl",
        (bundled_corpus(),),
        description="52 hand-written questions on the 4 seed lessons (answerable, follow-up, "
        "off-topic, near-miss, injection)",
    ),
    "mlfb": Suite(
        "mlfb",
        DATASET_DIR / "mlfb.jsonl",
        (bundled_corpus(),),
        description="78 vetted ML-For-Beginners quiz questions, all answerable",
    ),
    "learner": Suite(
        "learner",
        DATASET_DIR / "learner.jsonl",
        (bundled_corpus(),),
        description="120 hand-written learner questions over the bundled lessons (seed and ML-For-Beginners), "
        "11 categories from definition to injection",
    ),
    "squad2": Suite(
        "squad2",
        DATASET_DIR / "squad2" / "test.jsonl",
        (DATASET_DIR / "squad2" / "lessons",),
        key_fact_mode="any",
        description="SQuAD 2.0 held-back articles: 3,273 questions, half adversarially unanswerable",
    ),
    "scifact": Suite(
        "scifact",
        DATASET_DIR / "scifact" / "queries.jsonl",
        (),
        kind="retrieval",
        description="SciFact (BEIR): 300 claims over 5,183 abstracts, retrieval only",
    ),
}


def custom_suite(dataset: Path, corpus: tuple[Path, ...]) -> Suite:
    """A user's own question file over their own lesson folders; the data dir is keyed by the corpus paths."""
    resolved = tuple(Path(p).resolve() for p in corpus)
    digest = hashlib.sha256("\n".join(str(p) for p in resolved).encode()).hexdigest()[:12]
    return Suite(
        Path(dataset).stem,
        Path(dataset),
        resolved,
        data_key=f"dataset-{digest}",
        description=f"{Path(dataset).name} over {', '.join(str(p) for p in resolved)}",
    )


def load_rows(path: Path, limit: int | None = None) -> list[EvalRow]:
    """Every row of a JSONL question file, validated; raises `DatasetError` naming the first bad line."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: dataset file not found")
    rows: list[EvalRow] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
            row = parse_row(data, f"{path}:{number}", number)
            if row.id in seen:
                raise DatasetError(f"{path}:{number}: duplicate id {row.id!r} (first on line {seen[row.id]})")
            seen[row.id] = number
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                break
    if not rows:
        raise DatasetError(f"{path}: no questions in the file")
    return rows


def parse_row(data: Any, where: str, line: int = 0) -> EvalRow:
    """One row from its JSON object; the error says which field is wrong and why."""
    if not isinstance(data, dict):
        raise DatasetError(f"{where}: a row must be a JSON object, got {type(data).__name__}")
    for name in ("id", "question"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise DatasetError(f"{where}: `{name}` must be a non-empty string")
    if not isinstance(data.get("answerable"), bool):
        raise DatasetError(f"{where}: `answerable` must be true or false")
    lesson_id = data.get("lesson_id")
    if lesson_id is not None and (not isinstance(lesson_id, str) or not lesson_id.strip()):
        raise DatasetError(f"{where}: `lesson_id` must be a non-empty string when set")
    key_facts = _strings(data, "key_facts", where)
    if data["answerable"] and not key_facts:
        raise DatasetError(f"{where}: answerable rows need `key_facts` (1+ phrases from the lesson)")
    if not data["answerable"] and key_facts:
        raise DatasetError(f"{where}: unanswerable rows must not set `key_facts`")
    reference = data.get("reference", "")
    if not isinstance(reference, str):
        raise DatasetError(f"{where}: `reference` must be a string")
    history = data.get("history") or []
    if not isinstance(history, list) or not all(
        isinstance(t, dict) and t.get("role") in _ROLES and isinstance(t.get("content"), str) for t in history
    ):
        raise DatasetError(f"{where}: `history` must be a list of {{role: user|assistant, content: str}}")
    category = data.get("category", "")
    if not isinstance(category, str):
        raise DatasetError(f"{where}: `category` must be a string")
    return EvalRow(
        id=data["id"],
        question=data["question"],
        answerable=data["answerable"],
        lesson_id=lesson_id or None,
        reference=reference,
        key_facts=key_facts,
        gold_lessons=_strings(data, "gold_lessons", where),
        gold_chunks=_strings(data, "gold_chunks", where),
        history=tuple({"role": t["role"], "content": t["content"]} for t in history),
        category=category,
        line=line,
    )


def _strings(data: dict, name: str, where: str) -> tuple[str, ...]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DatasetError(f"{where}: `{name}` must be a list of non-empty strings")
    return tuple(value)
