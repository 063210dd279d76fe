"""The widget's routes without a browser: what each page sends, who may frame or call it, and escaping."""

from __future__ import annotations

import gzip
import logging
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from tutor.serve.api import create_api
from tutor.serve.feedback import FeedbackStore
from tutor.serve.origins import OriginPolicy
from tutor.settings import Settings
from ui.widget import STATIC, widget_routes
from ui.widget.demo import snippet


@dataclass
class _Record:
    id: str
    title: str
    course: str = "Course"
    text: str = ""
    source: str = ""
    chunks: int = 1

    def summary(self):
        return {"id": self.id, "title": self.title, "course": self.course, "chunks": self.chunks}


class _Lessons:
    """The two calls the widget routes make, over fixed lessons."""

    def __init__(self, *records: _Record, origins: tuple[str, ...] = ()) -> None:
        self.records = {r.id: r for r in records}
        self.settings = Settings(allowed_origins=origins)
        self.backend = SimpleNamespace(uses_llm=False)

    def lesson(self, lesson_id):
        return self.records.get(lesson_id)

    def lessons(self):
        return list(self.records.values())

    def lesson_count(self):
        return len(self.records)


HOSTILE = _Record(
    "markup",
    'Tags <b>"bold"</b>',
    text="# Markup\n\nA lesson may say <img src=x onerror=alert(1)> in its text.\n\n[bad](javascript:alert(1))\n",
    source="https://school.example/lessons/markup",
)


def client_for(*records: _Record, origins: tuple[str, ...] = (), tmp_path=None) -> TestClient:
    tutor = _Lessons(*records, origins=origins)
    policy = OriginPolicy.of(origins)
    api = create_api(tutor, FeedbackStore(tmp_path / "fb.sqlite3"), None, origins=policy)
    api.include_router(widget_routes(tutor, policy))
    return TestClient(api)


def test_widget_script_is_small_and_served_as_javascript(tmp_path):
    response = client_for(tmp_path=tmp_path).get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert len(gzip.compress(response.content)) <= 15_000
    assert "postMessage" in response.text and "frame.contentWindow" in response.text


def test_embed_page_escapes_everything_and_allows_only_loopback_framing_by_default(tmp_path):
    client = client_for(HOSTILE, tmp_path=tmp_path)
    page = client.get("/embed", params={"lesson": "markup", "parent": "http://127.0.0.1:8080", "widget": "w-1"})
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'self' http://localhost:* https://localhost:* http://127.0.0.1:*" in csp
    assert "Tags &lt;b&gt;&quot;bold&quot;&lt;/b&gt;" in page.text and "<b>" not in page.text
    assert 'data-parent="http://127.0.0.1:8080"' in page.text
    assert 'data-source="https://school.example/lessons/markup"' in page.text
    assert "<script>" not in page.text  # no inline script: the CSP would refuse it anyway
    forged = client.get("/embed", params={"lesson": "markup", "title": "<script>x</script>", "parent": "javascript:x"})
    assert "&lt;script&gt;x&lt;/script&gt;" in forged.text and 'data-parent=""' in forged.text


def test_embed_for_an_unknown_lesson_is_a_404_with_the_reason(tmp_path):
    page = client_for(HOSTILE, tmp_path=tmp_path).get("/embed", params={"lesson": "nope<script>"})
    assert page.status_code == 404
    assert "unknown lesson" in page.text and "<script>" not in page.text


def test_a_parent_page_that_may_not_embed_gets_no_messages(tmp_path):
    client = client_for(HOSTILE, origins=("https://school.example",), tmp_path=tmp_path)
    page = client.get("/embed", params={"lesson": "markup", "parent": "https://evil.example"})
    assert 'data-parent=""' in page.text
    assert page.headers["content-security-policy"].endswith("frame-ancestors 'self' https://school.example")
    allowed = client.get("/embed", params={"lesson": "markup", "parent": "https://school.example"})
    assert 'data-parent="https://school.example"' in allowed.text


def test_api_refuses_browser_calls_from_other_sites_even_without_preflight(tmp_path):
    client = client_for(HOSTILE, origins=("https://school.example",), tmp_path=tmp_path)
    body = {"question": "q", "answer": "a", "lesson_id": "markup", "rating": "up"}
    blocked = client.post("/api/feedback", json=body, headers={"Origin": "https://evil.example"})
    assert blocked.status_code == 403 and "TUTOR_ALLOWED_ORIGINS" in blocked.json()["detail"]
    allowed = client.post("/api/feedback", json=body, headers={"Origin": "https://school.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://school.example"
    same_site = client.post("/api/feedback", json=body, headers={"Origin": "http://testserver"})
    assert same_site.status_code == 200  # the tutor's own pages (/embed, /demo) call it too
    assert client.post("/api/feedback", json=body).status_code == 200  # no Origin: not a browser page


def test_default_policy_lets_any_loopback_port_call_the_api(tmp_path):
    client = client_for(HOSTILE, tmp_path=tmp_path)
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = client.options("/api/ask", headers={"Origin": "http://localhost:5173", **preflight})
    assert ok.headers.get("access-control-allow-origin") == "http://localhost:5173"
    other = client.options("/api/ask", headers={"Origin": "http://localhost.evil.example", **preflight})
    assert other.headers.get("access-control-allow-origin") is None


def test_any_origin_must_be_explicit_and_is_logged(caplog):
    policy = OriginPolicy.of(["*"])
    with caplog.at_level(logging.WARNING):
        policy.warn_if_open()
    assert policy.allows("https://anyone.example") and "any website" in caplog.text
    assert policy.frame_ancestors() == "frame-ancestors 'self' *"
    with pytest.raises(ValueError, match="scheme://host"):
        OriginPolicy.of(["school.example/path"])


def test_demo_renders_the_lesson_markdown_without_running_its_markup(tmp_path):
    client = client_for(HOSTILE, tmp_path=tmp_path)
    page = client.get("/demo/markup")
    assert page.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text and "<img" not in page.text
    assert 'href="javascript:' not in page.text
    assert "<h1>Markup</h1>" in page.text
    assert snippet("markup") in page.text
    index = client.get("/demo")
    assert 'href="/demo/markup"' in index.text and "Tags &lt;b&gt;" in index.text
    assert client.get("/demo/unknown").status_code == 404


def test_embed_assets_stay_within_the_first_load_budget():
    total = sum(len((STATIC / name).read_bytes()) for name in ("embed.html", "embed.js", "embed.css"))
    assert total <= 150_000


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://school.example", True),
        ("http://127.0.0.1:8080", True),
        ("http://[::1]:3000", True),
        ("https://school.example/lessons", False),
        ("http://user@school.example", False),
        ("https://school.example#x", False),
        ("http://school.example:99999", False),
        ("javascript:alert(1)", False),
        ("school.example", False),
    ],
)
def test_an_origin_is_scheme_host_and_port_only(value, ok):
    from tutor.serve.origins import is_origin

    assert is_origin(value) is ok
