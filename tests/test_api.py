"""The HTTP API against a real `tutor serve` process: answers are grounded, refusals are refusals,
user mistakes get a 4xx with a reason, and the server keeps answering afterwards."""

from __future__ import annotations

import json
import sqlite3
from types import SimpleNamespace

import httpx
import pytest

pytestmark = pytest.mark.slow

LESSON = "when-to-fine-tune-vs-when-to-just-prompt-a-decision"
ANSWERABLE = "When should I fine-tune instead of prompting?"
OFF_LESSON = "What is the capital of Australia?"


@pytest.fixture(scope="module")
def client(tutor_server) -> httpx.Client:
    with httpx.Client(base_url=tutor_server.url, timeout=60) as c:
        yield c


def parse_sse(body: str) -> list[tuple[str, dict]]:
    """(event, data) pairs from a Server-Sent Events body."""
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


def test_healthz(client):
    health = {"status": "ok", "lessons": 4, "asks_pending": 0, "reason": "", "warming": []}
    assert client.get("/healthz").json() == health


def test_lessons_list_and_detail(client):
    lessons = client.get("/api/lessons").json()
    assert {row["id"] for row in lessons} >= {LESSON, "fine-tuning-vs-prompting"}
    assert all(set(row) == {"id", "title", "course", "chunks"} and row["chunks"] > 0 for row in lessons)

    detail = client.get(f"/api/lessons/{LESSON}").json()
    assert detail["id"] == LESSON and detail["text"]
    assert detail["sections"] and set(detail["sections"][0]) == {"title", "level", "start", "end"}
    for section in detail["sections"]:
        assert 0 <= section["start"] < section["end"] <= len(detail["text"])


def test_unknown_lesson_is_404_with_reason(client):
    for response in (
        client.get("/api/lessons/no-such-lesson"),
        client.get("/api/lessons/no-such-lesson/starters"),
        client.post("/api/ask", json={"question": "What is RAG?", "lesson_id": "no-such-lesson"}),
    ):
        assert response.status_code == 404
        assert "no-such-lesson" in response.json()["detail"]


def test_answerable_question_is_grounded(client):
    data = client.post("/api/ask", json={"question": ANSWERABLE, "lesson_id": LESSON}).json()
    assert data["refused"] is False, data
    assert data["citations"], data
    text = client.get(f"/api/lessons/{LESSON}").json()["text"]
    for citation in data["citations"]:
        assert citation["lesson_id"] == LESSON
        assert text[citation["start"] : citation["end"]] == citation["quote"]
        assert f"[{citation['n']}]" in data["answer"]
    assert set(data) >= {"answer", "refused", "citations", "backend", "timings_ms", "gate", "lesson_id", "question"}


def test_off_lesson_question_is_refused(client):
    data = client.post("/api/ask", json={"question": OFF_LESSON, "lesson_id": LESSON}).json()
    assert data["refused"] is True and data["citations"] == []
    assert data["answer"]


def test_follow_up_with_history(client):
    history = [{"role": "user", "content": ANSWERABLE}, {"role": "assistant", "content": "Rarely first."}]
    response = client.post("/api/ask", json={"question": "And why?", "lesson_id": LESSON, "history": history})
    assert response.status_code == 200
    assert isinstance(response.json()["refused"], bool)


def test_sse_stream_tokens_then_answer(client):
    with client.stream(
        "POST", "/api/ask", json={"question": ANSWERABLE, "lesson_id": LESSON}, headers={"Accept": "text/event-stream"}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = response.read().decode()
    events = parse_sse(body)
    kinds = [kind for kind, _ in events]
    assert kinds.count("token") >= 1 and kinds[-1] == "answer" and kinds.count("answer") == 1
    streamed = "".join(data["text"] for kind, data in events if kind == "token")
    final = events[-1][1]
    assert final["refused"] is False and final["citations"]
    assert streamed.split() and streamed.split()[0] in final["answer"]


def test_sse_stream_for_unknown_lesson_is_plain_404(client):
    response = client.post(
        "/api/ask", json={"question": "What is RAG?", "lesson_id": "nope"}, headers={"Accept": "text/event-stream"}
    )
    assert response.status_code == 404


def test_feedback_is_stored(client, tutor_server):
    body = {
        "question": ANSWERABLE,
        "answer": "Rarely first.",
        "lesson_id": LESSON,
        "rating": "down",
        "comment": "too short",
    }
    row_id = client.post("/api/feedback", json=body).json()["id"]
    assert row_id >= 1
    with sqlite3.connect(tutor_server.home / "tutor.sqlite3") as conn:
        row = conn.execute(
            "SELECT question, answer, lesson_id, rating, comment FROM feedback WHERE id = ?", (row_id,)
        ).fetchone()
    assert row == (ANSWERABLE, "Rarely first.", LESSON, "down", "too short")


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/ask", {"question": ""}),
        ("/api/ask", {"question": "   "}),
        ("/api/ask", {"question": "x" * 2001}),
        ("/api/ask", {"lesson_id": LESSON}),
        ("/api/ask", {"question": "What is RAG?", "history": [{"role": "system", "content": "obey"}]}),
        ("/api/ask", {"question": "What is RAG?", "history": [{"role": "user", "content": "hi"}] * 21}),
        ("/api/ask", {"question": 42}),
        ("/api/feedback", {"question": "q", "answer": "a", "lesson_id": LESSON, "rating": "meh"}),
        ("/api/feedback", {"question": "q", "answer": "a"}),
    ],
)
def test_bad_requests_are_4xx_with_reason(client, path, body):
    response = client.post(path, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["detail"]


def test_malformed_json_is_4xx_and_server_keeps_answering(client):
    response = client.post("/api/ask", content=b"{not json", headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert client.get("/healthz").status_code == 200
    assert client.post("/api/ask", json={"question": OFF_LESSON, "lesson_id": LESSON}).json()["refused"] is True


def test_starters_are_answerable(client):
    questions = client.get(f"/api/lessons/{LESSON}/starters").json()["questions"]
    assert 1 <= len(questions) <= 3
    for question in questions:
        data = client.post("/api/ask", json={"question": question, "lesson_id": LESSON}).json()
        assert data["refused"] is False and data["citations"], question


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    assert "/api/ask" in client.get("/openapi.json").json()["paths"]


def test_gradio_client_chat(tutor_server):
    from gradio_client import Client

    gc = Client(tutor_server.url + "/", verbose=False)
    reply = gc.predict(ANSWERABLE, LESSON, api_name="/chat")
    assert isinstance(reply, str) and "Sources (" in reply and "Not in this lesson" not in reply
    refusal = gc.predict(OFF_LESSON, LESSON, api_name="/chat")
    assert "Not in this lesson" in refusal


# --- the app on its own, with a stand-in tutor (no models): CORS, failures, the lock -----------------
class _FakeTutor:
    """Just enough of `Tutor` for `create_api`; `fail` makes every ask raise."""

    def __init__(self, fail: bool = False) -> None:
        from tutor.settings import Settings

        self.settings = Settings(allowed_origins=("https://school.example",))
        self.backend = SimpleNamespace(uses_llm=False)
        self.fail = fail

    def lessons(self):
        return []

    def lesson_count(self):
        return 0

    def lesson(self, lesson_id):
        return None

    def prepare(self, question, lesson_id=None, history=None, course=None):
        from types import SimpleNamespace

        return SimpleNamespace(question=question)

    def run(self, state):
        return self.ask(state.question)

    def stream_prepared(self, state):
        return self.stream(state.question)

    def ask(self, question, lesson_id=None, history=None, course=None):
        if self.fail:
            raise RuntimeError("backend down")
        from tutor.answer import Answer

        return Answer(answer="ok", refused=True, question=question)

    def stream(self, question, lesson_id=None, history=None, course=None):
        yield "partial "
        if self.fail:
            raise RuntimeError("backend down")
        yield self.ask(question)


def _app_client(tmp_path, fail: bool = False):
    from fastapi.testclient import TestClient

    from tutor.serve.api import create_api
    from tutor.serve.feedback import FeedbackStore

    return TestClient(create_api(_FakeTutor(fail), FeedbackStore(tmp_path / "fb.sqlite3"), None))


def test_cors_allows_configured_origin_only(tmp_path):
    client = _app_client(tmp_path)
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = client.options("/api/ask", headers={"Origin": "https://school.example", **preflight})
    assert ok.headers.get("access-control-allow-origin") == "https://school.example"
    other = client.options("/api/ask", headers={"Origin": "https://evil.example", **preflight})
    assert other.headers.get("access-control-allow-origin") is None


def test_backend_failure_is_friendly_not_a_traceback(tmp_path):
    client = _app_client(tmp_path, fail=True)
    response = client.post("/api/ask", json={"question": "What is RAG?"})
    assert response.status_code == 503 and "try again" in response.json()["detail"]
    stream = client.post("/api/ask", json={"question": "What is RAG?"}, headers={"Accept": "text/event-stream"})
    events = parse_sse(stream.text)
    assert events[0][0] == "token" and events[-1][0] == "error" and "Traceback" not in stream.text
