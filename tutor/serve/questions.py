"""The questions log: what learners asked and whether the lessons could answer, for the authors' gap report.

Privacy first: a row holds the time, the lesson (or course), the question, answered or refused, the gate's
layer and score, the nearest lesson section and the question's embedding (for clustering), and the answer's
random id (to join its 👍/👎) — never an IP address, a user or a session. Rows older than the retention
setting are deleted; `TUTOR_QUESTION_LOG=false` switches logging off.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tutor.answer import Answer
from tutor.serve.feedback import connect, since_and_lesson

log = logging.getLogger(__name__)

DAY = 86_400.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT UNIQUE,
    created REAL NOT NULL,
    lesson_id TEXT,
    course TEXT,
    question TEXT NOT NULL,
    refused INTEGER NOT NULL,
    layer TEXT NOT NULL DEFAULT '',
    score REAL NOT NULL DEFAULT 0,
    nearest_lesson TEXT NOT NULL DEFAULT '',
    nearest_section TEXT NOT NULL DEFAULT '',
    vector BLOB
);
CREATE INDEX IF NOT EXISTS questions_created ON questions (created);
CREATE INDEX IF NOT EXISTS questions_lesson ON questions (lesson_id, created);
"""


@dataclass(frozen=True)
class LoggedQuestion:
    id: int
    answer_id: str
    created: float
    lesson_id: str
    course: str
    question: str
    refused: bool
    layer: str
    score: float
    nearest_lesson: str
    nearest_section: str
    vector: np.ndarray | None


class QuestionLog:
    """Append-only rows in the data dir's SQLite file, pruned to `retention_days` (0 = keep)."""

    def __init__(
        self, path: Path | str, retention_days: int = 90, embed: Callable[[str], list[float]] | None = None
    ) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self._embed = embed  # the retriever's cached question vector: no extra model pass per ask
        self._write_lock = threading.Lock()
        self._pruned = 0.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(connect(self.path)) as conn, conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
        self.prune()

    def record(self, answer: Answer) -> None:
        """Log one answered or refused ask; a failure is logged and never fails the ask."""
        try:
            self._insert(answer)
        except Exception:
            log.exception("could not log the question")

    def _insert(self, answer: Answer) -> None:
        question = answer.standalone_question or answer.question
        nearest = max(answer.passages, key=lambda p: p.score, default=None)
        vector = None
        if self._embed is not None:
            vector = np.asarray(self._embed(question), dtype=np.float32).tobytes()
        gate = answer.gate or {}
        row = (
            answer.id,
            time.time(),
            answer.lesson_id,
            answer.course,
            answer.question,
            int(answer.refused),
            str(gate.get("layer", "")),
            float(gate.get("score", 0.0)),
            nearest.lesson_id if nearest else "",
            nearest.section if nearest else "",
            vector,
        )
        with self._write_lock, closing(connect(self.path)) as conn, conn:
            conn.execute(
                "INSERT OR IGNORE INTO questions (answer_id, created, lesson_id, course, question, refused, layer,"
                " score, nearest_lesson, nearest_section, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        if time.time() - self._pruned > DAY:
            self.prune()

    def prune(self) -> int:
        """Delete rows older than the retention period; returns how many."""
        self._pruned = time.time()
        if self.retention_days <= 0:
            return 0
        cutoff = time.time() - self.retention_days * DAY
        with self._write_lock, closing(connect(self.path)) as conn, conn:
            removed = conn.execute("DELETE FROM questions WHERE created < ?", (cutoff,)).rowcount
        if removed:
            log.info("questions log: removed %d rows older than %d days", removed, self.retention_days)
        return removed

    def rows(self, since: float | None = None, lesson_id: str | None = None) -> list[LoggedQuestion]:
        """Logged asks, oldest first, optionally since a time or for one lesson."""
        where, args = since_and_lesson("created", since, lesson_id)
        with closing(connect(self.path)) as conn:
            rows = conn.execute(f"SELECT * FROM questions WHERE {where} ORDER BY created, id", args)
            return [_logged(row) for row in rows]


def _logged(row: sqlite3.Row) -> LoggedQuestion:
    blob = row["vector"]
    return LoggedQuestion(
        id=row["id"],
        answer_id=row["answer_id"] or "",
        created=row["created"],
        lesson_id=row["lesson_id"] or "",
        course=row["course"] or "",
        question=row["question"],
        refused=bool(row["refused"]),
        layer=row["layer"],
        score=row["score"],
        nearest_lesson=row["nearest_lesson"],
        nearest_section=row["nearest_section"],
        vector=np.frombuffer(blob, dtype=np.float32) if blob else None,
    )
