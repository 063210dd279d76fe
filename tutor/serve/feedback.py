"""Learner feedback (👍/👎 on an answer) in a small SQLite file next to the index.

Ratings are how we find answers that cited the wrong passage or refused something the lesson covers, so
they are kept verbatim with the question, the answer and the lesson. SQLite needs no server and is safe
across the threads of the web server when each call opens its own connection.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RATINGS = ("up", "down")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    lesson_id TEXT,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT ''
)
"""


class FeedbackStore:
    """Append-only feedback rows; one connection per call so any thread may use it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()  # SQLite allows one writer; queue ours instead of hitting "locked"
        with closing(self._connect()) as conn, conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def add(self, question: str, answer: str, lesson_id: str | None, rating: str, comment: str | None = None) -> int:
        """Store one rating and return its row id; a rating other than up/down is a caller bug."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
        with self._write_lock, closing(self._connect()) as conn, conn:
            cur = conn.execute(
                "INSERT INTO feedback (created, question, answer, lesson_id, rating, comment)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), question, answer, lesson_id or None, rating, comment or ""),
            )
            row_id = int(cur.lastrowid or 0)
        log.info("feedback %d: %s on lesson %s", row_id, rating, lesson_id)
        return row_id

    def recent(self, n: int = 20) -> list[dict[str, Any]]:
        """The newest `n` rows, newest first."""
        with closing(self._connect()) as conn:
            rows = conn.execute("SELECT * FROM feedback ORDER BY id DESC LIMIT ?", (max(0, int(n)),)).fetchall()
        return [dict(row) for row in rows]
