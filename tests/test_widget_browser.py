"""The embeddable widget in a real browser (Debian's chromium via Playwright).

A plain HTML page served from a second port adds the one-line snippet for two lessons (inline and floating)
and shows the lesson in its own markup. The tests ask, watch the answer stream, click a citation and check
that the quoted passage is highlighted in that page's own text and scrolled into view; that a site that
is not allowed can neither frame the chat nor call the API; that the floating panel works by keyboard; that
a learner's vote can be changed and commented on, leaving one stored row per answer; and that markup in a
lesson is shown as text, never run.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
from markdown_it import MarkdownIt
from playwright.sync_api import expect

from tests.conftest import SEED_CORPUS, free_port, serving
from ui.server import FEEDBACK_DB

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
LESSON = "fine-tuning-vs-prompting"
HOSTILE = "markup-in-text"
HOSTILE_LESSON = """---
id: "markup-in-text"
title: "Escaping <b>markup</b> in lessons"
course: "Web safety"
source: "https://school.example/lessons/markup"
---

# Escaping markup

## Why raw HTML is dangerous

Raw HTML such as <img src=x onerror="window.__xss=1"> runs script when a page renders lesson text as HTML.

## How to show markup safely

Escaping the angle brackets makes the browser show the markup as plain text instead of parsing it.
"""
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not installed", allow_module_level=True)


def fold(text: str) -> str:
    """The page's text and a quote compared as letters and digits only (as widget.js compares them)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())


def lesson_body(path: Path) -> str:
    return path.read_text(encoding="utf-8").split("---", 2)[2]


def host_page_html(tutor_url: str) -> str:
    """A course site's page: the lesson typeset its own way (curly quotes, hard line breaks, other markup),
    rendered by a Markdown library, not by the tutor, with the snippet for two lessons."""
    text = lesson_body(SEED_CORPUS / f"{LESSON}.md").replace("'", "\u2019")
    text = re.sub(r"(?<=[a-z]\.) (?=[A-Z])", "\n", text)  # one sentence per source line, as some sites do
    article = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Course site</title>
<style>body {{ font-family: serif; margin: 0 }} main {{ max-width: 640px; padding: 20px }}
p {{ margin: 0 0 1.4em }} aside {{ position: fixed; top: 10px; right: 10px; width: 380px }}</style></head>
<body>
<nav><a href="#">Home</a> / Lessons</nav>
<main id="lesson-text"><article>{article}</article><div style="height: 1600px"></div></main>
<aside id="tutor-slot"></aside>
<script src="{tutor_url}/widget.js" data-lesson="{LESSON}" data-mode="inline" data-container="#tutor-slot"
  data-target="#lesson-text" data-accent="#0a7d45" defer></script>
<script src="{tutor_url}/widget.js" data-lesson="{HOSTILE}" data-position="bottom-left" defer></script>
</body></html>"""


@pytest.fixture(scope="module")
def site_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def widget_server(tmp_path_factory, site_port):
    """The tutor, allowing exactly the course site's origin (another loopback origin is then not allowed)."""
    root = tmp_path_factory.mktemp("widget")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_CORPUS / f"{LESSON}.md", corpus)
    (corpus / f"{HOSTILE}.md").write_text(HOSTILE_LESSON, encoding="utf-8")
    with serving(root, corpus, TUTOR_ALLOWED_ORIGINS=f"http://127.0.0.1:{site_port}") as server:
        yield server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def static_site(directory: Path, port: int) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        httpd.shutdown()


@pytest.fixture(scope="module")
def host_site(widget_server, tmp_path_factory, site_port):
    """The course site: a static file server on a second port."""
    site = tmp_path_factory.mktemp("site")
    (site / "index.html").write_text(host_page_html(widget_server.url), encoding="utf-8")
    with static_site(site, site_port) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.external = []  # requests to anything but loopback

    def record(request) -> None:
        host = urlparse(request.url).hostname
        if request.url.startswith(("http", "ws")) and host not in LOCAL_HOSTS:
            page.external.append(request.url)

    page.on("request", record)
    yield page
    context.close()


def widget(page, n: int):
    return page.locator(f"[data-lesson-tutor='lesson-tutor-{n}']")


def chat(page, n: int):
    return page.frame_locator(f"[data-lesson-tutor='lesson-tutor-{n}'] iframe")


def ask_and_watch(frame, question: str, timeout_s: float = 60) -> list[str]:
    """Ask in the embed and sample the answer bubble until it is final; returns the distinct texts seen."""
    box = frame.locator("#question")
    box.fill(question)
    box.press("Enter")
    bot = frame.locator(".msg.bot").last
    bot.wait_for(timeout=10_000)
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = bot.inner_text()
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        if "streaming" not in (bot.get_attribute("class") or ""):
            break
        time.sleep(0.03)
    return seen


def highlighted_text(page) -> str:
    return page.evaluate(
        """() => {
            const h = CSS.highlights && CSS.highlights.get('lesson-tutor-cite');
            return h ? [...h].map(r => r.toString()).join(' ') : '';
        }"""
    )


def test_citation_click_highlights_the_passage_in_the_host_page(page, host_site, widget_server):
    page.goto(host_site + "/index.html")
    first = widget(page, 1)
    first.wait_for(state="attached", timeout=10_000)
    page.wait_for_function(
        "() => document.querySelector(\"[data-lesson-tutor='lesson-tutor-1']\")?.hasAttribute('data-ready-ms')",
        timeout=30_000,
    )
    ready_ms = int(first.get_attribute("data-ready-ms"))
    frame = chat(page, 1)
    header = frame.locator(".head").inner_text()
    assert "Curious about Fine-tuning vs prompting?" in header
    assert "short, friendly, grounded" in header

    seen = ask_and_watch(frame, "Why does the choice between fine-tuning and prompting matter?")
    answer = frame.locator(".msg.bot").last
    assert "refusal" not in (answer.get_attribute("class") or "")
    tokens = int(answer.get_attribute("data-tokens") or 0)
    assert tokens >= 2, f"expected the answer to arrive as a stream of pieces, got {tokens} ({seen})"
    first_token_ms = int(answer.get_attribute("data-first-token-ms"))
    chips = answer.locator(".chip")
    assert chips.count() >= 1
    quote = answer.locator(".tip-quote").first.text_content()
    assert len(quote) > 20

    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # the passage is out of view first
    chips.first.click()
    page.wait_for_function(
        "() => document.querySelector(\"[data-lesson-tutor='lesson-tutor-1']\").dataset.highlighted === 'true'",
        timeout=5_000,
    )
    marked = highlighted_text(page)
    assert fold(marked) == fold(quote) or fold(quote) in fold(marked) or fold(marked) in fold(quote)
    assert len(fold(marked)) >= 0.6 * len(fold(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", quote)))
    page.wait_for_function(
        """() => { const r = [...CSS.highlights.get('lesson-tutor-cite')][0].getBoundingClientRect();
                   return r.top >= 0 && r.bottom <= window.innerHeight; }""",
        timeout=5_000,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget_highlight.png"))

    page.mouse.click(5, 5)  # the next click anywhere on the page clears the highlight
    assert highlighted_text(page) == ""

    # 👍 is stored for this lesson.
    answer.locator("button[aria-label='Helpful']").click()
    expect_row(widget_server.home, "up", LESSON)
    # What the chat cost to load (its page, script, styles and the calls it made), for the closing figures.
    loaded = page.frames[1].evaluate(
        "() => [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]"
        ".reduce((n, e) => n + (e.transferSize || 0), 0)"
    )
    metrics = {"ready_ms": ready_ms, "first_token_ms": first_token_ms, "embed_transferred_bytes": loaded}
    (ARTIFACTS / "widget_metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    assert page.external == [], f"requests left the machine: {page.external}"


def expect_row(home: Path, rating: str, lesson: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with sqlite3.connect(home / FEEDBACK_DB) as conn:
            row = conn.execute("SELECT rating, lesson_id FROM feedback ORDER BY id DESC LIMIT 1").fetchone()
        if row == (rating, lesson):
            return
        time.sleep(0.2)
    pytest.fail(f"no {rating!r} feedback row for {lesson}")


def feedback_rows(home: Path, question: str) -> list[dict]:
    """The stored votes on answers to `question`, read straight from the server's feedback file."""
    path = home / FEEDBACK_DB
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM feedback WHERE question = ? ORDER BY id", (question,)).fetchall()
    return [dict(row) for row in rows]


def wait_for_rows(home: Path, question: str, done, timeout_s: float = 10) -> list[dict]:
    """Poll the feedback file until `done(rows)` holds for the rows about `question`; fail with what is there."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = feedback_rows(home, question)
        if done(rows):
            return rows
        if time.monotonic() > deadline:
            pytest.fail(f"feedback for {question!r} never matched: {rows}")
        time.sleep(0.2)


def test_a_vote_can_be_changed_and_a_comment_lands_on_the_same_row(browser, widget_server):
    """👍 then 👎 on one answer leaves one row saying 👎, and a comment typed after it is stored on that row;
    at phone width in dark mode, by keyboard for the comment."""
    question = "What is fine-tuning good at?"
    context = browser.new_context(viewport={"width": 320, "height": 640}, color_scheme="dark")
    page = context.new_page()
    posted: list[dict] = []
    page.on(
        "request",
        lambda r: posted.append(r.post_data_json) if r.method == "POST" and r.url.endswith("/api/feedback") else None,
    )
    page.goto(f"{widget_server.url}/embed?lesson={LESSON}")
    page.locator("#question:enabled").wait_for(timeout=10_000)
    ask_and_watch(page, question)
    answer = page.locator(".msg.bot").last
    up, down = answer.locator(".rate[aria-label='Helpful']"), answer.locator(".rate[aria-label='Not helpful']")
    form = answer.locator("form.comment")
    assert form.is_hidden(), "the comment box waits for a vote"

    up.click()
    (first,) = wait_for_rows(widget_server.home, question, lambda rows: len(rows) == 1)
    assert first["rating"] == "up" and first["lesson_id"] == LESSON and first["answer_id"]
    down.click()
    (row,) = wait_for_rows(widget_server.home, question, lambda rows: len(rows) >= 1 and rows[0]["rating"] == "down")
    assert row["id"] == first["id"] and row["answer_id"] == first["answer_id"]
    assert (up.get_attribute("aria-pressed"), down.get_attribute("aria-pressed")) == ("false", "true")
    assert up.is_enabled() and down.is_enabled(), "the vote stays changeable"
    assert {body["answer_id"] for body in posted} == {row["answer_id"]}, posted
    expect(answer.locator(".thanks")).to_have_text("Thanks!")

    expect(form).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget_feedback_comment.png"))
    box = answer.get_by_label("Anything to add? (optional)")
    box.focus()
    page.keyboard.type("The answer skipped the part about tone.")
    page.keyboard.press("Enter")  # Enter sends, as in the question box
    (commented,) = wait_for_rows(widget_server.home, question, lambda rows: bool(rows and rows[0]["comment"]))
    assert commented["comment"] == "The answer skipped the part about tone."
    assert (commented["id"], commented["rating"]) == (row["id"], "down")
    assert posted[-1]["rating"] == "down" and posted[-1]["comment"] == commented["comment"]
    expect(form).to_be_hidden()
    expect(answer.locator(".thanks")).to_have_text("Thanks!")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Not helpful"
    context.close()


def test_floating_widget_opens_and_closes_with_the_keyboard(page, host_site):
    page.goto(host_site + "/index.html")
    floating = widget(page, 2)
    launcher = floating.locator("button.launcher")
    launcher.wait_for(timeout=10_000)
    assert floating.get_attribute("data-open") == "false"
    assert not floating.locator(".panel").is_visible()
    launcher.focus()
    page.keyboard.press("Enter")
    assert floating.get_attribute("data-open") == "true"
    assert launcher.get_attribute("aria-expanded") == "true"
    frame = chat(page, 2)
    frame.locator("#question:focus").wait_for(timeout=10_000)  # focus moved into the chat's input
    page.keyboard.press("Escape")
    page.wait_for_function(
        "() => document.querySelector(\"[data-lesson-tutor='lesson-tutor-2']\").dataset.open === 'false'",
        timeout=5_000,
    )
    assert not floating.locator(".panel").is_visible()
    assert (
        page.evaluate(
            "() => document.querySelector(\"[data-lesson-tutor='lesson-tutor-2']\").shadowRoot.activeElement?.className"
        )
        == "launcher"
    )


def test_markup_in_a_lesson_is_shown_as_text(page, host_site, widget_server):
    page.goto(host_site + "/index.html")
    floating = widget(page, 2)
    floating.locator("button.launcher").click()
    frame = chat(page, 2)
    assert "Escaping <b>markup</b> in lessons" in frame.locator(".lesson-title").inner_text()
    ask_and_watch(frame, "Why is raw HTML dangerous?")
    answer = frame.locator(".msg.bot").last
    assert "<img src=x" in answer.inner_text()
    assert frame.locator(".log img, .log b").count() == 0
    link = answer.locator(".tip-link").first.get_attribute("href")  # the lesson has a web source
    assert link.startswith("https://school.example/lessons/markup#:~:text=Raw%20HTML"), link
    page.screenshot(path=str(ARTIFACTS / "widget_markup.png"))

    demo = page.context.new_page()
    demo.goto(f"{widget_server.url}/demo/{HOSTILE}")
    assert "<img src=x" in demo.locator("article").inner_text()
    assert demo.locator("article img").count() == 0
    assert demo.evaluate("() => window.__xss") is None
    assert page.evaluate("() => window.__xss") is None


def test_a_site_that_is_not_allowed_can_neither_frame_nor_call_the_tutor(page, widget_server, tmp_path):
    tutor = widget_server.url
    blocked_page = f"""<!doctype html><html><body>
<iframe id="chat" src="{tutor}/embed?lesson={LESSON}" width="400" height="400"></iframe>
<script>
window.apiResult = 'pending';
fetch('{tutor}/api/ask', {{method: 'POST', headers: {{'Content-Type': 'application/json'}},
  body: JSON.stringify({{question: 'What is fine-tuning?', lesson_id: '{LESSON}'}})}})
  .then(r => r.text().then(t => window.apiResult = 'read:' + t), e => window.apiResult = 'blocked');
fetch('{tutor}/api/feedback', {{method: 'POST', mode: 'no-cors', headers: {{'Content-Type': 'text/plain'}},
  body: JSON.stringify({{question: 'q', answer: 'a', lesson_id: '{LESSON}', rating: 'down'}})}})
  .then(() => window.feedbackSent = true, () => window.feedbackSent = true);
</script></body></html>"""
    (tmp_path / "lesson.html").write_text(blocked_page, encoding="utf-8")
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text))
    with static_site(tmp_path, free_port()) as blocked_site:  # loopback, but not the allowed course site
        page.goto(f"{blocked_site}/lesson.html")
        page.wait_for_function("() => window.apiResult !== 'pending' && window.feedbackSent", timeout=20_000)
    assert page.evaluate("window.apiResult") == "blocked"
    chat_frame = next(f for f in page.frames if f != page.main_frame)
    assert chat_frame.evaluate("() => document.querySelector('.tutor') === null")
    assert any("frame-ancestors" in line for line in refused), refused
    with sqlite3.connect(widget_server.home / FEEDBACK_DB) as conn:
        rows = conn.execute("SELECT COUNT(*) FROM feedback WHERE rating = 'down' AND question = 'q'").fetchone()
    assert rows == (0,), "a form-style post from a disallowed site reached the feedback store"
    page.screenshot(path=str(ARTIFACTS / "widget_blocked.png"))


def test_without_the_highlight_api_the_passage_is_wrapped_in_marks(browser, host_site):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.add_init_script("delete window.Highlight; if (window.CSS) delete CSS.highlights;")
    page.goto(host_site + "/index.html")
    frame = chat(page, 1)
    ask_and_watch(frame, "What is the common pitfall?")
    answer = frame.locator(".msg.bot").last
    quote = answer.locator(".tip-quote").first.text_content()
    answer.locator(".chip").first.click()
    marks = page.locator("#lesson-text mark[data-lesson-tutor-mark]")
    marks.first.wait_for(timeout=5_000)
    assert fold(quote) in fold("".join(marks.all_text_contents())) or fold("".join(marks.all_text_contents())) in fold(
        quote
    )
    page.mouse.click(5, 5)
    assert marks.count() == 0  # cleared, and the page's text is whole again
    assert "Fine-tuning to teach the model new facts" in page.locator("#lesson-text").inner_text()
    context.close()


def test_the_embed_fits_a_phone_and_follows_dark_mode(browser, widget_server):
    context = browser.new_context(viewport={"width": 320, "height": 640}, color_scheme="dark")
    page = context.new_page()
    page.goto(f"{widget_server.url}/embed?lesson={LESSON}")
    page.locator("#question:enabled").wait_for(timeout=10_000)
    page.locator(".starter").first.wait_for(timeout=120_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 24, 29)", background
    page.locator(".starter").first.click()  # a starter is answered, not refused
    page.locator(".msg.bot:not(.streaming)").wait_for(timeout=60_000)
    assert "refusal" not in (page.locator(".msg.bot").last.get_attribute("class") or "")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.screenshot(path=str(ARTIFACTS / "widget_phone_dark.png"))
    page.locator(".reset").click()
    assert page.locator(".msg").count() == 0 and page.locator(".starters").is_visible()
    context.close()
