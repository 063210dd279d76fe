"""One server for everything: the HTTP API under /api, OpenAPI at /docs, the widget (/widget.js, /embed,
/demo) and the chat UI at /.

`tutor serve` calls `serve`; `create_app` is the ASGI app for anyone who runs their own uvicorn. The server
listens as soon as the index is open: the embedding model, the all-lessons BM25 index and the chat UI load
in the background (/healthz says "starting" and what is still loading; asks and pages wait for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from tutor.errors import StoreUnavailableError, TutorError
from tutor.pipeline import Tutor
from tutor.serve.admission import AskPool
from tutor.serve.api import create_api
from tutor.serve.feedback import FeedbackStore, adopt_legacy_file
from tutor.serve.live import LiveIndex
from tutor.serve.opening import LessonOpener
from tutor.serve.origins import OriginPolicy
from tutor.serve.questions import QuestionLog
from tutor.serve.starters import StarterQuestions
from tutor.settings import Settings, apply_offline_env
from ui.widget import widget_routes

log = logging.getLogger(__name__)

FEEDBACK_DB = "tutor.sqlite3"  # feedback and the questions log (`Settings.state_db`)
UI_WAIT_S = 120


class DeferredUI:
    """The Gradio chat UI as an ASGI app built after the server is listening: importing Gradio and building
    the page take seconds that the API, the widget and /healthz need not wait for. A page requested while
    it builds waits for it; if it cannot be built, pages get a 503 that says why and the API keeps serving."""

    def __init__(self, build: Callable[[], FastAPI]) -> None:
        self._build = build
        self.app: FastAPI | None = None
        self.error = ""
        self._built = asyncio.Event()
        self._stop = asyncio.Event()

    @property
    def ready(self) -> bool:
        return self._built.is_set()

    async def run(self) -> None:
        """Build the UI, then hold its lifespan (Gradio's queue) open until `stop`."""
        try:
            app = await run_in_threadpool(self._build)
            async with app.router.lifespan_context(app):
                self.app = app
                self._built.set()
                await self._stop.wait()
        except Exception as exc:
            log.exception("the chat UI could not start")
            self.error = f"the chat UI could not start: {exc}"
        finally:
            self._built.set()

    def stop(self) -> None:
        self._stop.set()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if not self._built.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._built.wait(), UI_WAIT_S)
        if self.app is None:
            if scope["type"] == "http":
                reason = self.error or "the chat UI is still starting; try again in a moment"
                await PlainTextResponse(reason, status_code=503, headers={"Retry-After": "5"})(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(settings: Settings, url: str = "", watch: bool = False) -> FastAPI:
    """Open the tutor and mount API + UI on one app; once listening, it brings the index up to date with the
    corpus folders in the background (/healthz: "starting", "lesson sync").

    With `TUTOR_CORPUS` (or `--corpus`) set, the server serves exactly those folders' lessons, whatever else
    the data dir holds; unset, it serves every indexed lesson (and keeps the bundled ones up to date).
    `url`: where this server listens, announced in the data dir so `tutor ingest` re-indexes through it;
    `watch`: re-index by itself when lesson files change."""
    tutor = Tutor.from_settings(settings, lazy=True)
    adopt_legacy_file(settings.state_db)
    feedback = FeedbackStore(settings.state_db)
    questions = log_questions(tutor, settings)
    starters = StarterQuestions(tutor)
    policy = OriginPolicy.of(settings.allowed_origins)
    policy.warn_if_open()
    pool = AskPool.for_settings(settings, uses_llm=tutor.backend.uses_llm)

    synced, stopping = threading.Event(), threading.Event()

    def build_chat() -> FastAPI:
        while not synced.wait(0.5):  # the page lists the lessons: build it from the synced index
            if stopping.is_set():
                raise RuntimeError("the server stopped before its lessons were synced")
        import gradio as gr

        from ui.gradio_app import CSS, THEME, build_ui

        blocks = build_ui(tutor, starters, feedback, opener)
        # Gradio runs one chat at a time per event unless told otherwise; the tutor itself is safe to share.
        blocks.queue(default_concurrency_limit=pool.workers, max_size=settings.max_pending)
        host = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        return gr.mount_gradio_app(host, blocks, path="/", theme=THEME, css=CSS, footer_links=["api"], show_error=False)

    chat = DeferredUI(build_chat)
    warm = threading.Event()

    def warming() -> list[str]:
        steps = (("lesson sync", synced.is_set()), ("model", warm.is_set()), ("chat UI", chat.ready))
        return [name for name, done in steps if not done]

    opener = LessonOpener(tutor)

    def lessons_changed() -> None:
        starters.forget()
        opener.forget()

    live = LiveIndex(tutor, on_change=lessons_changed)
    api = create_api(
        tutor,
        feedback,
        starters,
        pool=pool,
        origins=policy,
        warming=warming,
        live=live,
        questions=questions,
        opener=opener,
    )
    api.include_router(widget_routes(tutor, policy, opener))
    # Mounted last so /healthz, /api/* and /docs are matched before the UI's catch-all "/".
    api.mount("/", chat)
    api.state.tutor = tutor
    api.state.feedback = feedback

    def warm_up() -> None:
        """After the server listens: sync the corpus folders (again every few seconds while the index is
        unreachable), then load the model and the all-lessons BM25 index."""
        lessons = None
        while lessons is None and not stopping.is_set():
            lessons = sync_corpus(live)
            if lessons is None:
                stopping.wait(3)
        if lessons is None:
            return
        synced.set()
        try:
            tutor.warm()
            if lessons:  # the lesson a visitor sees first gets its starters before anyone asks
                starters.warm(lessons[0].id)
        except Exception:  # the first ask loads what is missing, and says why if it cannot
            log.exception("warming up failed")
        finally:
            warm.set()

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
        ui_task = asyncio.create_task(chat.run())
        if url:
            live.announce(settings.home, url)
        if watch:
            live.watch(list(settings.corpus))
        try:
            yield
        finally:
            stopping.set()
            live.withdraw(settings.home)
            live.close()
            chat.stop()
            await ui_task
            await run_in_threadpool(starters.close)
            opener.close()
            pool.close()

    api.router.lifespan_context = lifespan
    return api


def log_questions(tutor: Tutor, settings: Settings) -> QuestionLog | None:
    """The questions log, recording every answer the tutor gives; None when `TUTOR_QUESTION_LOG` is off."""
    if not settings.question_log:
        log.info("the questions log is off (TUTOR_QUESTION_LOG=false)")
        return None
    questions = QuestionLog(settings.state_db, settings.question_log_days, embed=tutor.question_vector)
    tutor.listeners.append(questions.record)
    return questions


def sync_corpus(live: LiveIndex) -> list | None:
    """Index what changed in the corpus folders (unchanged lessons cost a hash, no model) and list the served
    lessons; None when the index is unreachable (the server then starts degraded and recovers later)."""
    try:
        report = live.reindex()
        lessons = live.tutor.lessons()
    except StoreUnavailableError as exc:  # start anyway: /healthz says degraded until the index is back
        log.warning("starting degraded: %s", exc)
        return None
    changed = report.embedded or report.removed
    (log.warning if changed else log.info)(
        "serving %d lessons: %d chunks embedded, %d lessons removed, %d unchanged (%.1fs)",
        len(lessons),
        report.embedded,
        report.removed,
        report.unchanged,
        report.seconds,
    )
    for err in report.errors:
        log.warning("skipped %s: %s", err["path"], err["error"])
    return lessons


class _Server(uvicorn.Server):
    """uvicorn, plus one line on stdout once it is really listening (scripts and tests wait for it)."""

    async def startup(self, sockets: list | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            host = self.config.host
            shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
            print(f"Tutor ready at http://{shown}:{self.config.port}/", flush=True)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, watch: bool = False) -> int:
    """Run the server until interrupted; the exit code is 0 after a clean stop, 1 if it could not start."""
    apply_offline_env()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:  # bind first: a busy port should fail in a second, not after loading models and indexing
        sock = _bind(host, port)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr, flush=True)
        return 1
    bound = sock.getsockname()[1]
    try:
        app = create_app(settings, url=_local_url(host, bound), watch=watch)
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
        uvicorn.Config(app, host=host, port=bound, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        return 130
    finally:
        sock.close()
    return 0 if server.started else 1


def _local_url(host: str, port: int) -> str:
    """How a process on this machine reaches the server (a wildcard address becomes loopback)."""
    host = host.strip("[]")
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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
