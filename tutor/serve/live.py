"""Live lessons: a running server re-indexes its corpus without a restart, and asks never fail meanwhile.

One process writes the index: the server. `tutor ingest` run beside it finds the server through
`<home>/server.json` (its URL and a key only readers of the data dir know) and asks it to re-index, so
the index is never written by two processes at once; with `tutor serve --watch` the server re-indexes by
itself when lesson files change. Each lesson's chunks are replaced in place (`LessonStore.replace_lesson`),
so an ask during a re-index reads the old or the new lesson, never none; caches built from the old
lessons (BM25, starter questions) are dropped once it is done.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `tutor ingest` imports this module to find a server before it loads anything heavy
    from tutor.ingest.index import IngestReport

log = logging.getLogger(__name__)

SERVER_FILE = "server.json"


class LiveIndex:
    """Serialised re-indexing for a serving tutor, plus the `server.json` that lets `tutor ingest` find it."""

    def __init__(self, tutor, on_change: Callable[[], None] = lambda: None) -> None:
        self.tutor = tutor
        self.on_change = on_change
        self.key = secrets.token_urlsafe(24)
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()

    def reindex(self, roots: list[Path] | None = None, rebuild: bool = False) -> IngestReport:
        """Index what changed under `roots` (default: the served corpus); one re-index at a time."""
        with self._lock:
            report = self.tutor.ingest([Path(r) for r in roots] if roots else None, rebuild=rebuild)
        if report.embedded or report.removed or rebuild:
            self.on_change()
        log.info(
            "re-indexed: %d chunks embedded, %d lessons removed, %d unchanged, %d errors (%.1fs)",
            report.embedded,
            report.removed,
            report.unchanged,
            len(report.errors),
            report.seconds,
        )
        return report

    # --- found by `tutor ingest` -----------------------------------------------------------------
    def announce(self, home: Path, url: str) -> Path:
        """Write `<home>/server.json` (readable by its owner only) so `tutor ingest` re-indexes through us."""
        path = Path(home) / SERVER_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"url": url, "pid": os.getpid(), "key": self.key}, out)
        return path

    def withdraw(self, home: Path) -> None:
        path = Path(home) / SERVER_FILE
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()
        except (OSError, ValueError):
            pass

    # --- `tutor serve --watch` -------------------------------------------------------------------
    def watch(self, roots: list[Path], debounce_ms: int = 400) -> None:
        """Re-index when files under `roots` change (new, edited, removed), in a background thread."""
        from watchfiles import watch

        folders = [str(Path(r).resolve()) for r in roots if Path(r).exists()]
        if not folders:
            log.warning("--watch: none of the corpus folders exist")
            return

        def run() -> None:
            for changes in watch(*folders, debounce=debounce_ms, stop_event=self._stop, raise_interrupt=False):
                log.info("lesson files changed (%d): re-indexing", len(changes))
                try:
                    self.reindex()
                except Exception:  # a failed re-index keeps the old index; the next change tries again
                    log.exception("re-indexing after a change failed")

        self._watcher = threading.Thread(target=run, name="watch-corpus", daemon=True)
        self._watcher.start()
        log.warning("watching %s for lesson changes", ", ".join(folders))

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(5)


def find_server(home: Path) -> dict | None:
    """The running server announced in `<home>/server.json`, if its process is alive."""
    try:
        info = json.loads((Path(home) / SERVER_FILE).read_text(encoding="utf-8"))
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if info.get("url") and info.get("key") else None


def reindex_through_server(home: Path, roots: list[Path], rebuild: bool = False) -> tuple[dict, str] | None:
    """Ask the server running on this data dir to re-index `roots`: (its ingest report, its URL), or None
    when no server is running (the caller then indexes by itself)."""
    server = find_server(home)
    if server is None:
        return None
    import httpx

    body = {"roots": [str(Path(r).resolve()) for r in roots], "rebuild": rebuild}
    headers = {"Authorization": f"Bearer {server['key']}"}
    try:
        reply = httpx.post(
            f"{server['url']}/api/index/sync", json=body, headers=headers, timeout=httpx.Timeout(10, read=None)
        )
    except httpx.TransportError as exc:
        log.warning("the server at %s did not answer (%s): indexing here", server["url"], exc)
        return None
    if reply.status_code != 200:
        log.warning("the server at %s refused to re-index (%s): indexing here", server["url"], reply.text[:200])
        return None
    return reply.json(), server["url"]
