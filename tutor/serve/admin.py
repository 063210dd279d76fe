"""`/api/admin/*`: the gap report and the feedback export, for a course's authors.

Off unless `TUTOR_ADMIN_TOKEN` is set; then every call needs `Authorization: Bearer <token>`. These routes
are never served to another site's pages: a request from a browser on another origin is refused whatever
`TUTOR_ALLOWED_ORIGINS` says (see `create_api`'s origin check), and the token header is not one CORS allows.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tutor.report import gap_report, parse_since, render
from tutor.serve.feedback import FeedbackStore
from tutor.serve.questions import QuestionLog

ADMIN_PREFIX = "/api/admin/"
MEDIA = {"html": "text/html", "md": "text/markdown", "csv": "text/csv", "json": "application/json"}


def admin_routes(tutor, feedback: FeedbackStore, questions: QuestionLog | None, token: str) -> APIRouter:
    router = APIRouter(prefix="/api/admin", tags=["admin"])

    def check(authorization: str) -> None:
        if not token:
            raise HTTPException(403, "admin endpoints are off: set TUTOR_ADMIN_TOKEN on the server to use them")
        if not secrets.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
            raise HTTPException(401, "wrong or missing admin token (Authorization: Bearer <TUTOR_ADMIN_TOKEN>)")

    @router.get("/report", responses={200: {"content": {m: {} for m in MEDIA.values()}}})
    async def report(
        authorization: Annotated[str, Header()] = "",
        format: Literal["html", "md", "csv", "json"] = "html",
        lesson: Annotated[str | None, Query(max_length=200)] = None,
        since: Annotated[str | None, Query(max_length=40, description="2026-11-01 or 30d")] = None,
    ) -> Response:
        """What learners asked, per lesson: answered vs not, unanswered questions grouped by meaning with the
        nearest lesson section, 👎 answers with comments, and questions per day."""
        check(authorization)
        if questions is None:
            raise HTTPException(409, "the questions log is off (TUTOR_QUESTION_LOG=false): there is nothing to report")
        try:
            start = parse_since(since)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc

        def build() -> str:
            return render(gap_report(questions, feedback, tutor.lessons(), lesson, start), format)

        body = await run_in_threadpool(build)
        return Response(body, media_type=MEDIA[format] + "; charset=utf-8")

    @router.get("/feedback")
    async def feedback_export(
        authorization: Annotated[str, Header()] = "",
        format: Literal["csv", "json"] = "csv",
        lesson: Annotated[str | None, Query(max_length=200)] = None,
        since: Annotated[str | None, Query(max_length=40)] = None,
    ) -> Response:
        """Every 👍/👎 with its question, answer and comment (one row per rated answer)."""
        check(authorization)
        try:
            start = parse_since(since)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        body = await run_in_threadpool(feedback.export, format, start, lesson)
        return Response(body, media_type=MEDIA[format] + "; charset=utf-8")

    return router
