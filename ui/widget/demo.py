"""Demo pages: each lesson rendered as a course site would show it, with the one-line widget beside it.

The lesson's Markdown goes through a real Markdown renderer with raw HTML turned off, so a lesson that
contains `<img src=x onerror=…>` shows that text instead of running it.
"""

from __future__ import annotations

import html
from functools import cache
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def snippet(lesson_id: str, tutor_url: str = "") -> str:
    """The one line a course site adds to a lesson page."""
    return f'<script src="{html.escape(tutor_url)}/widget.js" data-lesson="{html.escape(lesson_id)}" defer></script>'


def _page(title: str, body: str, head: str = "") -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<title>{html.escape(title)}</title>\n<link rel="stylesheet" href="/widget/demo.css">\n{head}</head>\n'
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def demo_index(lessons: list[Any]) -> str:
    items = "\n".join(
        f'<li><a href="/demo/{quote(r.id, safe="")}">{html.escape(r.title)}</a>'
        f' <span class="course">{html.escape(r.course)}</span></li>'
        for r in sorted(lessons, key=lambda r: (r.course, r.title))
    )
    body = (
        '<main class="site"><h1>Lessons</h1>'
        "<p>Each lesson page below is a plain course page with the tutor added by one line:</p>"
        f"<pre><code>{html.escape(snippet('LESSON_ID', 'https://TUTOR_HOST'))}</code></pre>"
        f'<ul class="lessons">{items or "<li>No lessons are indexed yet: run <code>tutor ingest</code>.</li>"}</ul>'
        "</main>"
    )
    return _page("Lessons", body)


def demo_lesson(record: Any) -> str:
    lesson_html = _markdown().render(record.text)
    body = (
        f'<header class="site-head"><a href="/demo">All lessons</a> · {html.escape(record.course)}</header>\n'
        f'<main class="site lesson" id="lesson">\n<article>\n{lesson_html}\n</article>\n</main>\n'
        f"{snippet(record.id)}"
    )
    return _page(record.title, body)
