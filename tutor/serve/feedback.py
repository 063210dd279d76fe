"""Learner feedback (👍/👎 and an optional comment on an answer) in the data dir's SQLite file.

Ratings are how authors find answers that cited the wrong passage or refused something the lesson covers,
so they are kept verbatim with the question, the answer and the lesson. One vote per answer: rating the
same answer again (changing 👍 to 👎, adding a comment) replaces the vote. SQLite needs no server and is
safe across the web server's threads when each call opens its own connection.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RATINGS = ("up", "down")
EXPORT_COLUMNS = ("id", "created", "updated", "answer_id", "lesson_id", "rating", "comment", "question", "answer")

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
_MIGRATIONS = (
    "ALTER TABLE feedback ADD COLUMN answer_id TEXT",
    "ALTER TABLE feedback ADD COLUMN updated REAL",
)
_ONE_VOTE = "CREATE UNIQUE INDEX IF NOT EXISTS feedback_answer ON feedback (answer_id) WHERE answer_id IS NOT NULL"


def adopt_legacy_file(state_db: Path) -> None:
    """Feedback used to live in `feedback.sqlite3`: move it to the data dir's `tutor.sqlite3` (once, before
    anything opens either), so no vote is lost."""
    legacy = state_db.with_name("feedback.sqlite3")
    if legacy.exists() and not state_db.exists():
        for suffix in ("", "-wal", "-shm"):
            old = legacy.with_name(legacy.name + suffix)
            if old.exists():
                old.rename(state_db.with_name(state_db.name + suffix))
        log.warning("moved %s to %s", legacy, state_db)


def since_and_lesson(when: str, since: float | None, lesson_id: str | None) -> tuple[str, list]:
    """A WHERE clause (and its arguments) for rows since a time (`when` names the time) and of one lesson."""
    clauses, args = ["1=1"], []
    if since is not None:
        clauses, args = [*clauses, f"{when} >= ?"], [*args, since]
    if lesson_id:
        clauses, args = [*clauses, "lesson_id = ?"], [*args, lesson_id]
    return " AND ".join(clauses), args


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


class FeedbackStore:
    """Feedback rows, one per rated answer; one connection per call so any thread may use it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()  # SQLite allows one writer; queue ours instead of hitting "locked"
        with closing(connect(self.path)) as conn, conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)
            have = {row["name"] for row in conn.execute("PRAGMA table_info(feedback)")}
            for statement in _MIGRATIONS:
                if statement.split()[-2] not in have:
                    conn.execute(statement)
            conn.execute(_ONE_VOTE)

    def add(
        self,
        question: str,
        answer: str,
        lesson_id: str | None,
        rating: str,
        comment: str | None = None,
        answer_id: str | None = None,
    ) -> int:
        """Store a vote and return its row id. With `answer_id`, a later vote on the same answer replaces
        this one (a comment sent without one keeps the earlier comment). A rating other than up/down is a
        caller bug."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
        now = time.time()
        with self._write_lock, closing(connect(self.path)) as conn, conn:
            if answer_id:
                cur = conn.execute(
                    "INSERT INTO feedback (created, updated, question, answer, lesson_id, rating, comment, answer_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (answer_id) WHERE answer_id IS NOT NULL DO UPDATE SET"
                    " rating = excluded.rating, updated = excluded.updated,"
                    " comment = CASE WHEN excluded.comment != '' THEN excluded.comment ELSE feedback.comment END"
                    " RETURNING id",
                    (now, now, question, answer, lesson_id or None, rating, comment or "", answer_id),
                )
                row_id = int(cur.fetchone()[0])
            else:
                cur = conn.execute(
                    "INSERT INTO feedback (created, updated, question, answer, lesson_id, rating, comment)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (now, now, question, answer, lesson_id or None, rating, comment or ""),
                )
                row_id = int(cur.lastrowid or 0)
        log.info("feedback %d: %s on lesson %s", row_id, rating, lesson_id)
        return row_id

    def recent(self, n: int = 20) -> list[dict[str, Any]]:
        """The newest `n` rows, newest first."""
        with closing(connect(self.path)) as conn:
            rows = conn.execute("SELECT * FROM feedback ORDER BY id DESC LIMIT ?", (max(0, int(n)),)).fetchall()
        return [dict(row) for row in rows]

    def rows(self, since: float | None = None, lesson_id: str | None = None) -> list[dict[str, Any]]:
        """Every vote (oldest first), optionally since a time or for one lesson."""
        where, args = since_and_lesson("COALESCE(updated, created)", since, lesson_id)
        with closing(connect(self.path)) as conn:
            return [dict(row) for row in conn.execute(f"SELECT * FROM feedback WHERE {where} ORDER BY id", args)]

    def export(self, fmt: str = "csv", since: float | None = None, lesson_id: str | None = None) -> str:
        """All votes as CSV or JSON (`tutor feedback export`, `/api/admin/feedback`)."""
        rows = [{k: row.get(k) for k in EXPORT_COLUMNS} for row in self.rows(since, lesson_id)]
        if fmt == "json":
            return json.dumps(rows, ensure_ascii=False, indent=1)
        if fmt != "csv":
            raise ValueError(f"unknown export format {fmt!r}: use csv or json")
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
