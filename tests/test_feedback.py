"""Feedback rows survive as written, from any thread, and bad ratings are refused."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from tutor.serve.feedback import FeedbackStore


def test_add_and_recent(tmp_path):
    store = FeedbackStore(tmp_path / "sub" / "feedback.sqlite3")
    first = store.add("What is RAG?", "Retrieval… [1]", "lesson-a", "up")
    second = store.add("Capital of Australia?", "Not in this lesson", None, "down", comment="should refuse")
    assert second == first + 1
    rows = store.recent(5)
    assert [r["id"] for r in rows] == [second, first]
    assert rows[0]["lesson_id"] is None and rows[0]["comment"] == "should refuse" and rows[0]["rating"] == "down"
    assert rows[1]["question"] == "What is RAG?" and rows[1]["created"] > 0
    assert store.recent(1) == rows[:1]


def test_bad_rating_is_rejected(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    with pytest.raises(ValueError):
        store.add("q", "a", "l", "meh")
    assert store.recent(10) == []


def test_persists_across_instances(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    FeedbackStore(path).add("q", "a", "l", "up")
    assert FeedbackStore(path).recent(10)[0]["question"] == "q"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM feedback").fetchone() == (1,)


def test_concurrent_writers(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    ids: list[int] = []

    def write(k: int) -> None:
        for i in range(20):
            ids.append(store.add(f"q{k}-{i}", "a", "l", "up" if i % 2 else "down"))

    threads = [threading.Thread(target=write, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == len(set(ids)) == 160
    assert len(store.recent(1000)) == 160
