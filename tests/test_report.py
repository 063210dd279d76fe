"""The questions log and the gap report: nothing that identifies a learner is kept, old questions go, the
unanswered questions are grouped by meaning with the nearest lesson section, and the admin endpoints are
closed unless a token is set."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time

import pytest
from conftest import HashingEmbedder

from tutor.answer import Answer, Passage
from tutor.report import gap_report, parse_since, render
from tutor.serve.feedback import FeedbackStore
from tutor.serve.questions import DAY, QuestionLog

LORA = ["What rank should I use for LoRA?", "How do I pick LoRA's rank?", "which lora rank is best"]
GPU = ["How much does a GPU cost to rent?", "What is the price of renting a GPU?"]
OTHER = "Who wrote the first paper on transformers?"


def answer(question: str, refused: bool, lesson: str = "lora-lesson", section: str = "What to learn") -> Answer:
    passage = Passage("c1", lesson, "LoRA in practice", "Fine-tuning", section, "LoRA adds small matrices.", 0, 9, 0.4)
    gate = {"answerable": not refused, "score": 0.2, "layer": "evidence", "reason": ""}
    return Answer(answer="…", refused=refused, question=question, lesson_id=lesson, passages=[passage], gate=gate)


def test_the_questions_log_keeps_no_address_or_user_and_forgets_old_questions(tmp_path):
    log = QuestionLog(tmp_path / "tutor.sqlite3", retention_days=30, embed=HashingEmbedder().embed_query)
    for q in LORA:
        log.record(answer(q, refused=True))
    log.record(answer("What does LoRA add?", refused=False))
    with sqlite3.connect(tmp_path / "tutor.sqlite3") as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(questions)")}
        conn.execute("UPDATE questions SET created = ? WHERE question = ?", (time.time() - 31 * DAY, LORA[0]))
    assert not columns & {"ip", "client", "user", "user_id", "session", "address", "host"}
    rows = log.rows()
    assert [(r.question, r.refused, r.layer, r.nearest_section) for r in rows][-1] == (
        "What does LoRA add?",
        False,
        "evidence",
        "What to learn",
    )
    assert rows[0].vector is not None and rows[0].vector.shape == (64,)
    assert log.prune() == 1 and [r.question for r in log.rows()] == LORA[1:] + ["What does LoRA add?"]
    assert QuestionLog(tmp_path / "keep.sqlite3", retention_days=0).prune() == 0


def test_unanswered_questions_are_grouped_by_meaning_with_the_nearest_section(tmp_path, real_embedder):
    log = QuestionLog(tmp_path / "tutor.sqlite3", embed=real_embedder.embed_query)
    for q in LORA:
        log.record(answer(q, refused=True))
    for q in GPU:
        log.record(answer(q, refused=True, section="Costs"))
    log.record(answer(OTHER, refused=True, section="History"))
    log.record(answer("What does LoRA add?", refused=False))
    feedback = FeedbackStore(tmp_path / "tutor.sqlite3")
    feedback.add("What does LoRA add?", "Small matrices. [1]", "lora-lesson", "down", "too short", "x1")
    lesson = type("L", (), {"id": "lora-lesson", "title": "LoRA in practice", "course": "Fine-tuning"})
    report = gap_report(log, feedback, [lesson])
    assert (report.asked, report.answered, report.refused) == (7, 1, 6)
    (gaps,) = report.lessons
    assert (gaps.title, gaps.asked, gaps.refused) == ("LoRA in practice", 7, 6)
    assert [c.count for c in gaps.clusters] == [3, 2, 1]
    lora, gpu, other = gaps.clusters
    assert set(lora.questions) == set(LORA) and lora.example in LORA and lora.nearest_section == "What to learn"
    assert set(gpu.questions) == set(GPU) and gpu.nearest_section == "Costs"
    assert other.example == OTHER
    assert gaps.disliked[0]["comment"] == "too short"

    page = render(report, "html")
    assert "LoRA in practice" in page and "What to learn" in page and "too short" in page and "<svg" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page  # self-contained
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert [int(r["group_size"]) for r in rows] == [3, 2, 1]
    assert json.loads(render(report, "json"))["lessons"][0]["clusters"][0]["count"] == 3
    assert "| 3 |" in render(report, "md")


def test_what_a_learner_typed_is_escaped_in_the_html_report(tmp_path):
    log = QuestionLog(tmp_path / "tutor.sqlite3", embed=HashingEmbedder().embed_query)
    log.record(answer("<img src=x onerror=alert(1)> what?", refused=True))
    page = render(gap_report(log, FeedbackStore(tmp_path / "tutor.sqlite3"), []), "html")
    assert "<img" not in page and "&lt;img src=x" in page


def test_since_takes_a_date_or_a_number_of_days():
    assert parse_since("2026-11-01") == 1793491200.0
    assert abs(parse_since("7d") - (time.time() - 7 * DAY)) < 5
    assert parse_since("") is None
    with pytest.raises(ValueError, match="30d"):
        parse_since("last week")


def admin_client(tmp_path, token: str):
    from fastapi.testclient import TestClient
    from test_api import _FakeTutor

    from tutor.serve.api import create_api

    tutor = _FakeTutor()
    tutor.settings = tutor.settings.with_(admin_token=token)
    log = QuestionLog(tmp_path / "tutor.sqlite3", embed=HashingEmbedder().embed_query)
    log.record(answer("What rank should I use for LoRA?", refused=True))
    feedback = FeedbackStore(tmp_path / "tutor.sqlite3")
    feedback.add("q", "a", "lora-lesson", "down", "a comment", "x1")
    return TestClient(create_api(tutor, feedback, None, questions=log))


def test_admin_endpoints_are_off_without_a_token(tmp_path):
    client = admin_client(tmp_path, token="")
    reply = client.get("/api/admin/report", headers={"Authorization": "Bearer "})
    assert reply.status_code == 403 and "TUTOR_ADMIN_TOKEN" in reply.json()["detail"]


def test_admin_endpoints_need_the_token_and_refuse_other_sites(tmp_path):
    client = admin_client(tmp_path, token="s3cret-token")
    assert client.get("/api/admin/report").status_code == 401
    assert client.get("/api/admin/report", headers={"Authorization": "Bearer nope"}).status_code == 401
    auth = {"Authorization": "Bearer s3cret-token"}
    page = client.get("/api/admin/report", headers=auth)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "What rank should I use for LoRA?" in page.text
    data = client.get("/api/admin/report?format=json&lesson=lora-lesson", headers=auth).json()
    assert data["refused"] == 1
    assert client.get("/api/admin/report?since=yesterday", headers=auth).status_code == 422
    export = client.get("/api/admin/feedback?format=csv", headers=auth)
    assert export.status_code == 200 and "a comment" in export.text
    # Even an allowed origin's pages may not read them (and the token header is not one CORS allows).
    cross = client.get("/api/admin/report", headers={**auth, "Origin": "https://school.example"})
    assert cross.status_code == 403
    preflight = client.options(
        "/api/admin/report",
        headers={
            "Origin": "https://school.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert "authorization" not in preflight.headers.get("access-control-allow-headers", "").lower()


def test_the_questions_log_records_what_the_tutor_answers_unless_switched_off(tmp_path, seed_tutor):
    from ui.server import log_questions

    before = list(seed_tutor.listeners)
    try:
        off = seed_tutor.settings.with_(home=tmp_path / "off", question_log=False)
        assert log_questions(seed_tutor, off) is None and seed_tutor.listeners == before
        questions = log_questions(seed_tutor, seed_tutor.settings.with_(home=tmp_path / "on"))
        seed_tutor.ask("What is the capital of Australia?", lesson_id=seed_tutor.lessons()[0].id)
        (row,) = questions.rows()
        assert row.refused and row.question == "What is the capital of Australia?" and row.vector.shape == (384,)
        assert seed_tutor.answers("What is RAG?", seed_tutor.lessons()[0].id) in (True, False)
        assert len(questions.rows()) == 1, "checking starter questions is not a learner's ask"
    finally:
        seed_tutor.listeners[:] = before
