"""The embeddable tutor: `/widget.js` for host pages, the light `/embed` chat it frames, and `/demo` pages.

Gradio is far too heavy to sit beside every lesson, so the embed is one small HTML page with its own script
and styles on top of the HTTP API. Every value put into a page is HTML-escaped here, and the page's script
sets all tutor and lesson text as text; `Content-Security-Policy` allows no inline script and lets only the
allowed sites (`TUTOR_ALLOWED_ORIGINS`) frame the chat.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from tutor.serve.opening import LessonOpener
from tutor.serve.origins import OriginPolicy, is_origin
from ui.widget.demo import demo_index, demo_lesson

STATIC = Path(__file__).parent / "static"
ASSETS = {"embed.js": "text/javascript", "embed.css": "text/css", "demo.css": "text/css"}
_WIDGET_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_ACCENT = re.compile(r"^(#[0-9A-Fa-f]{3,8}|[A-Za-z]{3,20})$")
CACHE = "public, max-age=300"
# A demo page is a stand-in course site: its own scripts only; the lesson's Markdown renders without raw HTML.
DEMO_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
}


@cache
def asset(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def embed_csp(policy: OriginPolicy) -> str:
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        f"base-uri 'none'; form-action 'none'; {policy.frame_ancestors()}"
    )


def widget_routes(tutor: Any, policy: OriginPolicy, opener: LessonOpener | None = None) -> APIRouter:
    """The routes; `tutor` needs only `lesson(id)` and `lessons()`. With an `opener`, serving a lesson's
    chat starts getting that lesson ready for its first question while the learner types it."""
    router = APIRouter()
    plain = {"X-Content-Type-Options": "nosniff"}

    @router.get("/widget.js", include_in_schema=False)
    def widget_js() -> Response:
        return Response(asset("widget.js"), media_type="text/javascript", headers={"Cache-Control": CACHE, **plain})

    @router.get("/widget/{name}", include_in_schema=False)
    def widget_asset(name: str) -> Response:
        if name not in ASSETS:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(asset(name), media_type=ASSETS[name], headers={"Cache-Control": CACHE, **plain})

    @router.get("/embed", include_in_schema=False)
    async def embed(
        lesson: str = Query("", max_length=200),
        parent: str = Query("", max_length=300),
        widget: str = Query("", max_length=40),
        title: str = Query("", max_length=200),
        accent: str = Query("", max_length=20),
    ) -> HTMLResponse:
        headers = {"Content-Security-Policy": embed_csp(policy), "Referrer-Policy": "no-referrer", **plain}
        record = await run_in_threadpool(tutor.lesson, lesson) if lesson else None
        if record is None:
            reason = f"unknown lesson {lesson!r}" if lesson else "the embed needs ?lesson=LESSON_ID"
            page = f"<!doctype html><meta charset=utf-8><title>Lesson tutor</title><p>{html.escape(reason)}</p>"
            return HTMLResponse(page, status_code=404, headers=headers)
        if opener is not None:
            opener.start(record.id)
        # Messages go only to the page that framed the chat, and only when that page may embed it.
        parent = parent if is_origin(parent) and policy.allows(parent) else ""
        source = record.source if record.source.startswith(("https://", "http://")) else ""
        page = Template(asset("embed.html")).substitute(
            title=html.escape(title.strip() or record.title),
            lesson=html.escape(record.id),
            parent=html.escape(parent),
            widget=html.escape(widget if _WIDGET_ID.match(widget) else ""),
            source=html.escape(source),
            accent=html.escape(accent if _ACCENT.match(accent) else ""),
        )
        return HTMLResponse(page, headers=headers)

    @router.get("/demo", include_in_schema=False)
    async def demo() -> HTMLResponse:
        lessons = await run_in_threadpool(tutor.lessons)
        return HTMLResponse(demo_index(lessons), headers=DEMO_HEADERS)

    @router.get("/demo/{lesson_id}", include_in_schema=False)
    async def demo_page(lesson_id: str) -> HTMLResponse:
        record = await run_in_threadpool(tutor.lesson, lesson_id)
        if record is None:
            page = f"<!doctype html><meta charset=utf-8><p>unknown lesson {html.escape(repr(lesson_id))}</p>"
            return HTMLResponse(page, status_code=404, headers=DEMO_HEADERS)
        return HTMLResponse(demo_lesson(record), headers=DEMO_HEADERS)

    return router
