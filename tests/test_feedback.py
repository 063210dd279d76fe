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


def test_one_vote_per_answer_a_new_vote_replaces_the_old(tmp_path):
    store = FeedbackStore(tmp_path / "tutor.sqlite3")
    first = store.add("What is RAG?", "Retrieval… [1]", "lesson-a", "up", answer_id="a1")
    again = store.add("What is RAG?", "Retrieval… [1]", "lesson-a", "down", comment="wrong quote", answer_id="a1")
    store.add("What is RAG?", "Retrieval… [1]", "lesson-a", "down", answer_id="a1")  # no comment: keeps it
    other = store.add("Why?", "Because… [1]", "lesson-a", "up", answer_id="a2")
    assert again == first and other != first
    rows = store.rows()
    assert len(rows) == 2
    assert (rows[0]["rating"], rows[0]["comment"], rows[0]["answer_id"]) == ("down", "wrong quote", "a1")


def test_export_as_csv_and_json(tmp_path):
    import csv
    import io
    import json

    store = FeedbackStore(tmp_path / "tutor.sqlite3")
    store.add("What is RAG?", 'Says "retrieval", then, a comma', "lesson-a", "down", "cites the wrong line", "a1")
    store.add("Other lesson?", "ok", "lesson-b", "up", answer_id="a2")
    rows = list(csv.DictReader(io.StringIO(store.export("csv"))))
    assert [r["answer_id"] for r in rows] == ["a1", "a2"]
    assert rows[0]["answer"] == 'Says "retrieval", then, a comma' and rows[0]["comment"] == "cites the wrong line"
    data = json.loads(store.export("json", lesson_id="lesson-b"))
    assert [(r["question"], r["rating"]) for r in data] == [("Other lesson?", "up")]
    with pytest.raises(ValueError):
        store.export("xml")


def test_feedback_from_an_older_data_dir_is_adopted(tmp_path):
    from tutor.serve.feedback import adopt_legacy_file

    with sqlite3.connect(tmp_path / "feedback.sqlite3") as conn:
        conn.execute(
            "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, question TEXT NOT"
            " NULL, answer TEXT NOT NULL, lesson_id TEXT, rating TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '')"
        )
        conn.execute("INSERT INTO feedback (created, question, answer, rating) VALUES (1, 'q', 'a', 'up')")
    adopt_legacy_file(tmp_path / "tutor.sqlite3")
    store = FeedbackStore(tmp_path / "tutor.sqlite3")
    assert [r["question"] for r in store.rows()] == ["q"]
    store.add("q2", "a2", None, "down", answer_id="x")  # the old table gained the new columns
    assert len(store.rows()) == 2 and not (tmp_path / "feedback.sqlite3").exists()
