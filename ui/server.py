"""One server for everything: the HTTP API under /api, OpenAPI at /docs, the widget (/widget.js, /embed,
/demo) and the chat UI at /.

`tutor serve` calls `serve`; `create_app` is the ASGI app for anyone who runs their own uvicorn.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
from collections.abc import AsyncIterator

import gradio as gr
import uvicorn
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from tutor.errors import StoreUnavailableError, TutorError
from tutor.pipeline import Tutor
from tutor.serve.admission import AskPool
from tutor.serve.api import create_api
from tutor.serve.feedback import FeedbackStore
from tutor.serve.origins import OriginPolicy
from tutor.serve.starters import StarterQuestions
from tutor.settings import Settings, apply_offline_env
from ui.gradio_app import CSS, THEME, build_ui
from ui.widget import widget_routes

log = logging.getLogger(__name__)

FEEDBACK_DB = "feedback.sqlite3"


def create_app(settings: Settings) -> FastAPI:
    """Load the tutor (indexing the corpus first if the index is empty) and mount API + UI on one app."""
    tutor = Tutor.from_settings(settings)
    try:
        lessons = tutor.lessons()
    except StoreUnavailableError as exc:  # start anyway: /healthz says degraded until the index is back
        log.warning("starting degraded: %s", exc)
        lessons = None
    if lessons == []:
        log.warning("the index under %s is empty: indexing %s", settings.home, ", ".join(map(str, settings.corpus)))
        report = tutor.ingest()
        log.warning("indexed %d lessons (%d chunks) in %.1fs", report.lessons, report.chunks, report.seconds)
        for err in report.errors:
            log.warning("skipped %s: %s", err["path"], err["error"])
    feedback = FeedbackStore(settings.home / FEEDBACK_DB)
    starters = StarterQuestions(tutor)
    policy = OriginPolicy.of(settings.allowed_origins)
    policy.warn_if_open()
    pool = AskPool.for_settings(settings, uses_llm=tutor.backend.uses_llm)
    api = create_api(tutor, feedback, starters, pool=pool, origins=policy)
    api.include_router(widget_routes(tutor, policy))
    blocks = build_ui(tutor, starters, feedback)
    # Gradio runs one chat at a time per event unless told otherwise; the tutor itself is safe to share.
    blocks.queue(default_concurrency_limit=pool.workers, max_size=settings.max_pending)
    # Mounted last so /healthz, /api/* and /docs are matched before the UI's catch-all "/".
    app = gr.mount_gradio_app(api, blocks, path="/", theme=THEME, css=CSS, footer_links=["api"], show_error=False)
    app.state.tutor = tutor
    app.state.feedback = feedback

    first = next(iter(lessons or []), None)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[object]:
        async with inner(a) as state:
            if first is not None:  # the lesson a visitor sees first gets its starters before anyone asks
                starters.warm(first.id)
            try:
                yield state
            finally:
                await run_in_threadpool(starters.close)
                pool.close()

    app.router.lifespan_context = lifespan
    return app


class _Server(uvicorn.Server):
    """uvicorn, plus one line on stdout once it is really listening (scripts and tests wait for it)."""

    async def startup(self, sockets: list | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            host = self.config.host
            shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
            print(f"Tutor ready at http://{shown}:{self.config.port}/", flush=True)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> int:
    """Run the server until interrupted; the exit code is 0 after a clean stop, 1 if it could not start."""
    apply_offline_env()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:  # bind first: a busy port should fail in a second, not after loading models and indexing
        sock = _bind(host, port)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr, flush=True)
        return 1
    try:
        app = create_app(settings)
    except TutorError as exc:  # a known setup problem (e.g. the model cannot load): its message says why
        print(f"error: the tutor could not start: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)
        sock.close()
        return 1
    except Exception as exc:
        log.exception("the tutor could not start")
        print(f"error: the tutor could not start: {exc}", file=sys.stderr, flush=True)
        sock.close()
        return 1
    server = _Server(
        uvicorn.Config(
            app, host=host, port=sock.getsockname()[1], log_level="warning", lifespan="on", timeout_graceful_shutdown=5
        )
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        return 130
    finally:
        sock.close()
    return 0 if server.started else 1


def _bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on host:port (IPv6 when the host is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
