"""The tutor's HTTP API (FastAPI): lessons, ask (JSON or Server-Sent Events), starter questions, feedback.

It is the contract a browser widget or another service builds on, so user mistakes (unknown lesson, bad
body) are answered with a 4xx and a reason, never a 500, and a streamed answer ends with the same JSON
as a plain one. Asks run concurrently on the `AskPool`'s workers (only what is not thread-safe is locked,
inside the tutor), bounded in number and rate, while the event loop keeps serving health checks and
listings.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from tutor.answer import Answer, answer_json
from tutor.errors import TutorError, public_error
from tutor.pipeline import AskState, Tutor
from tutor.serve.admin import ADMIN_PREFIX, admin_routes
from tutor.serve.admission import Admission, AskPool
from tutor.serve.feedback import FeedbackStore
from tutor.serve.live import LiveIndex
from tutor.serve.opening import LessonOpener
from tutor.serve.origins import OriginPolicy
from tutor.serve.questions import QuestionLog
from tutor.serve.starters import StarterQuestions

log = logging.getLogger(__name__)

MAX_QUESTION = 2000
MAX_TURNS = 20

Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION)]


class Turn(BaseModel):
    """One earlier message of the conversation, so follow-ups ("and why?") can be understood."""

    role: Literal["user", "assistant"]
    content: Annotated[str, StringConstraints(max_length=20_000)]


class AskRequest(BaseModel):
    question: Question
    lesson_id: str | None = Field(default=None, description="answer only from this lesson")
    course: str | None = Field(default=None, description="answer from this course's lessons (no lesson_id)")
    history: list[Turn] = Field(default_factory=list, max_length=MAX_TURNS)


class FeedbackRequest(BaseModel):
    question: Annotated[str, StringConstraints(max_length=MAX_QUESTION)]
    answer: Annotated[str, StringConstraints(max_length=50_000)]
    lesson_id: str | None = None
    rating: Literal["up", "down"]
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None
    answer_id: Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] | None = Field(
        default=None, description="the answer's `id`: voting again on it replaces the vote"
    )


class LessonSummary(BaseModel):
    id: str
    title: str
    course: str
    chunks: int


class SectionOut(BaseModel):
    title: str
    level: int
    start: int
    end: int


class LessonDetail(LessonSummary):
    text: str
    sections: list[SectionOut]


class Starters(BaseModel):
    lesson_id: str
    questions: list[str]


class LessonOpened(BaseModel):
    lesson_id: str
    sentences_embedded: int = Field(description="sentences embedded now (0: the lesson was ready already)")
    seconds: float = Field(description="how long preparing the lesson took")


class Health(BaseModel):
    status: Literal["ok", "starting", "degraded"]
    lessons: int
    asks_pending: int = 0
    reason: str = ""
    warming: list[str] = Field(default_factory=list, description="what is still loading (asks wait for it)")


class FeedbackSaved(BaseModel):
    id: int


class SyncRequest(BaseModel):
    roots: list[str] = Field(default_factory=list, description="lesson folders; empty = the served corpus")
    rebuild: bool = False


def sse(event: str, data: dict[str, Any]) -> str:
    """One Server-Sent Event; data is a single JSON line."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def create_api(
    tutor: Tutor,
    feedback: FeedbackStore,
    starters: StarterQuestions | None,
    *,
    pool: AskPool | None = None,
    origins: OriginPolicy | None = None,
    warming: Callable[[], list[str]] = list,
    live: LiveIndex | None = None,
    questions: QuestionLog | None = None,
    opener: LessonOpener | None = None,
) -> FastAPI:
    """The API app; `pool` (default: sized by the tutor's settings) runs and bounds the asks; `warming`
    names what the server is still loading in the background (reported by /healthz as "starting");
    `opener` prepares lessons as they are opened (default: one of its own)."""
    opener = opener or LessonOpener(tutor)
    pool = pool or AskPool.for_settings(tutor.settings, uses_llm=tutor.backend.uses_llm)
    policy = origins if origins is not None else OriginPolicy.of(tutor.settings.allowed_origins)
    api = FastAPI(
        title="Lesson tutor API",
        version="1",
        description="Answers only from the lesson a learner is reading, with citations; refuses otherwise.",
    )

    @api.middleware("http")
    async def allowed_origins_only(request: Request, call_next: Any) -> Any:
        """CORS only hides responses: a form post from another site would still reach the API. A request
        that names a browser origin is served only if that origin is allowed or is this server itself."""
        origin = request.headers.get("origin")
        if origin and request.url.path.startswith("/api/") and not _same_site(origin, request):
            if request.url.path.startswith(ADMIN_PREFIX):
                return JSONResponse({"detail": "admin endpoints are not for other sites' pages"}, status_code=403)
            if not policy.allows(origin):
                detail = f"{origin} may not call this tutor from a browser (TUTOR_ALLOWED_ORIGINS)"
                return JSONResponse({"detail": detail}, status_code=403)
        return await call_next(request)

    api.add_middleware(
        CORSMiddleware,
        **policy.cors(),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Content-Type", "Accept"],
        max_age=600,
    )

    async def require_lesson(lesson_id: str) -> Any:
        lesson = await run_in_threadpool(tutor.lesson, lesson_id)
        if lesson is None:
            raise HTTPException(404, f"unknown lesson {lesson_id!r}; GET /api/lessons lists the lessons")
        return lesson

    @api.get("/healthz", response_model=Health, tags=["meta"], responses={503: {"model": Health}})
    async def healthz() -> Any:
        """Cheap and never behind the asks: the index answers a count, and asks run on their own workers.
        While models load in the background the status is "starting": asks are accepted and wait for them."""
        try:
            lessons = await run_in_threadpool(tutor.lesson_count)
        except Exception as exc:
            log.warning("health check: the lesson index is unreachable: %s", exc)
            reason = f"the lesson index is unreachable ({type(exc).__name__}: {str(exc)[:200]})"
            body = Health(status="degraded", lessons=0, asks_pending=pool.pending, reason=reason)
            return JSONResponse(body.model_dump(), status_code=503)
        loading = warming()
        status = "starting" if loading else "ok"
        return Health(status=status, lessons=lessons, asks_pending=pool.pending, warming=loading)

    @api.get("/api/lessons", response_model=list[LessonSummary], tags=["lessons"])
    async def list_lessons() -> list[dict[str, Any]]:
        return [r.summary() for r in await run_in_threadpool(tutor.lessons)]

    @api.get(
        "/api/lessons/{lesson_id}",
        response_model=LessonDetail,
        tags=["lessons"],
        responses={404: {"description": "unknown lesson"}},
    )
    async def get_lesson(lesson_id: str) -> dict[str, Any]:
        lesson = await require_lesson(lesson_id)
        return {
            **lesson.summary(),
            "text": lesson.text,
            "sections": [{"title": s.title, "level": s.level, "start": s.start, "end": s.end} for s in lesson.sections],
        }

    @api.get(
        "/api/lessons/{lesson_id}/starters",
        response_model=Starters,
        tags=["lessons"],
        responses={404: {"description": "unknown lesson"}},
    )
    async def lesson_starters(lesson_id: str, n: Annotated[int, Query(ge=1, le=6)] = 3) -> Starters:
        """Questions this lesson answers (each one checked by asking it), for "try asking…" buttons."""
        await require_lesson(lesson_id)
        questions = await run_in_threadpool(starters.for_lesson, lesson_id, n) if starters else []
        return Starters(lesson_id=lesson_id, questions=questions)

    @api.post(
        "/api/lessons/{lesson_id}/open",
        response_model=LessonOpened,
        tags=["lessons"],
        responses={404: {"description": "unknown lesson"}, 503: {"description": "too many lessons being prepared"}},
    )
    async def open_lesson(lesson_id: str) -> LessonOpened:
        """Get a lesson ready for its first question (call it when a learner opens the lesson; the widget
        does): answers when it is ready, and at once when it was already. Asks never need it first."""
        await require_lesson(lesson_id)
        try:
            opened = await asyncio.wrap_future(opener.open(lesson_id))  # OverloadedError: a 503 with the reason
        except Exception as exc:
            raise HTTPException(*public_error(exc)) from exc
        return LessonOpened(**dataclasses.asdict(opened))

    @api.post(
        "/api/ask",
        tags=["ask"],
        responses={
            200: {
                "description": "The answer JSON, or with `Accept: text/event-stream` a stream of `token` events "
                '(`{"text": ...}`) and one final `answer` event carrying the answer JSON.',
                "content": {"text/event-stream": {}},
            },
            404: {"description": "unknown lesson"},
        },
    )
    async def ask(body: AskRequest, request: Request) -> Any:
        try:
            admission = pool.admit(request.client.host if request.client else "unknown")
        except TutorError as exc:
            status, detail = public_error(exc)
            retry = getattr(exc, "retry_after", None)
            raise HTTPException(status, detail, headers={"Retry-After": str(retry or 5)}) from exc
        history = [turn.model_dump() for turn in body.history]
        try:  # validates and fetches the lesson once, so an unknown lesson is a 404 before any streaming
            state = await run_in_threadpool(
                tutor.prepare, body.question, body.lesson_id or None, history, body.course or None
            )
        except Exception as exc:
            admission.release()
            _log_failure(exc, body.question)
            raise HTTPException(*public_error(exc)) from exc
        if "text/event-stream" in request.headers.get("accept", ""):
            return StreamingResponse(
                _streamed(pool, admission, _events(tutor, state)),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        try:
            answer = await pool.run(tutor.run, state)
        except Exception as exc:
            _log_failure(exc, body.question)
            raise HTTPException(*public_error(exc)) from exc
        finally:
            admission.release()
        return JSONResponse(answer_json(answer))

    @api.post("/api/index/sync", tags=["lessons"], responses={401: {"description": "wrong or missing key"}})
    async def sync_index(body: SyncRequest, authorization: Annotated[str, Header()] = "") -> dict[str, Any]:
        """Re-index lesson folders in this server (what `tutor ingest` does when a server is running): the
        key is in `<data dir>/server.json`, readable only by the data dir's owner."""
        if live is None or not secrets.compare_digest(authorization, f"Bearer {live.key}"):
            raise HTTPException(401, "re-indexing needs the key in the server's data dir (run `tutor ingest`)")
        roots = [Path(r) for r in body.roots]
        report = await run_in_threadpool(live.reindex, roots or None, body.rebuild)
        return report.to_dict()

    api.include_router(admin_routes(tutor, feedback, questions, tutor.settings.admin_token))

    @api.post("/api/feedback", response_model=FeedbackSaved, tags=["feedback"])
    async def post_feedback(body: FeedbackRequest) -> FeedbackSaved:
        row = await run_in_threadpool(
            feedback.add, body.question, body.answer, body.lesson_id, body.rating, body.comment, body.answer_id
        )
        return FeedbackSaved(id=row)

    return api


def _same_site(origin: str, request: Request) -> bool:
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


async def _streamed(pool: AskPool, admission: Admission, events: Iterator[str]) -> AsyncIterator[str]:
    """The SSE body on the ask workers; the admission is released when the stream ends or is dropped."""
    try:
        async for batch in pool.batches(events):
            yield "".join(batch)
    finally:
        admission.release()


def _events(tutor: Tutor, state: AskState) -> Iterator[str]:
    """The SSE events: `token`s, then `answer`; a failure mid-stream becomes an `error` event."""
    try:
        for item in tutor.stream_prepared(state):
            if isinstance(item, Answer):
                yield sse("answer", answer_json(item))
            else:
                yield sse("token", {"text": item})
    except Exception as exc:
        _log_failure(exc, state.question)
        status, detail = public_error(exc)
        yield sse("error", {"status": status, "detail": detail})


def _log_failure(exc: Exception, question: str) -> None:
    """A learner's mistake is not the server's: only backend and unexpected failures are logged as errors."""
    status, _ = public_error(exc)
    if status >= 500 and isinstance(exc, TutorError):
        log.error("ask failed: %s (question %r)", exc, question)
    elif status >= 500:
        log.exception("ask failed unexpectedly: %r", question)
