"""A model that runs in a child process, fed one request at a time through a queue (its stdin).

Native inference code can crash the process it runs in. Here that process is a child: when it dies, every
request it was serving fails with `WorkerDiedError` naming the exit signal and the child's last stderr
lines, the tutor stays up, and the next request starts a fresh child. No lock is held while a caller
consumes a stream: pieces reach each caller through its own queue, filled by one reader thread.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import queue
import signal
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

from tutor.errors import BackendUnavailableError

log = logging.getLogger(__name__)

_DIED = object()  # queued to every open request when the child exits


class WorkerDiedError(BackendUnavailableError):
    """The child process exited while a request was in flight (a native crash, or it was killed)."""


class ChildWorker:
    """One child process speaking the JSON-lines protocol of `tutor.generate.llamacpp_worker`."""

    def __init__(
        self, command: list[str], name: str, start_timeout: float = 180.0, reply_timeout: float = 300.0
    ) -> None:
        self.command = command
        self.name = name
        self.start_timeout = start_timeout
        self.reply_timeout = reply_timeout
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()  # guards starting the child and writing to its stdin, never a stream
        self._pending: dict[int, queue.Queue] = {}
        self._ids = itertools.count(1)
        self._stderr: collections.deque[str] = collections.deque(maxlen=12)
        self._stderr_reader: threading.Thread | None = None
        self.last_exit = ""
        self.starts = 0
        self._closing = False

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def start(self) -> None:
        """Start the child if it is not running; raise `BackendUnavailableError` saying why it cannot."""
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return
            if self.starts:
                log.warning("%s worker restarting (last exit: %s)", self.name, self.last_exit or "unknown")
            self._spawn()

    def _spawn(self) -> None:
        self._stderr.clear()
        self.last_exit = ""
        self._closing = False
        process = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self.starts += 1
        self._stderr_reader = threading.Thread(target=self._drain_stderr, args=(process,), daemon=True)
        self._stderr_reader.start()
        first: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: first.put(process.stdout.readline()), daemon=True).start()
        try:
            line = first.get(timeout=self.start_timeout)
        except queue.Empty:
            _stop(process)
            raise BackendUnavailableError(f"{self.name} did not start within {self.start_timeout:.0f} s") from None
        message = _parse(line)
        if not message.get("ready"):
            reason = message.get("fatal") or self._exit_reason(process, during="start")
            _stop(process)
            raise BackendUnavailableError(reason)
        self._process = process
        threading.Thread(target=self._read_replies, args=(process,), daemon=True).start()
        log.info("%s worker ready (pid %d)", self.name, process.pid)

    def close(self) -> None:
        with self._lock:
            self._closing = True
            if self._process is not None:
                _stop(self._process)

    # --- requests ------------------------------------------------------------------------------
    def stream(self, request: dict[str, Any]) -> Iterator[str]:
        """The reply to `request` as text pieces; stopping early cancels it in the child."""
        self.start()
        rid = next(self._ids)
        replies: queue.Queue = queue.Queue()
        self._pending[rid] = replies
        finished = False
        try:
            process = self._send({**request, "id": rid})
            while True:
                reply = self._next_reply(replies, process)
                if reply is _DIED:
                    finished = True
                    raise WorkerDiedError(f"{self.name} worker died mid-answer: {self.last_exit}")
                if "piece" in reply:
                    yield reply["piece"]
                elif reply.get("done"):
                    finished = True
                    return
                elif "error" in reply:
                    finished = True
                    raise BackendUnavailableError(f"{self.name} failed: {reply['error']}")
        finally:
            self._pending.pop(rid, None)
            if not finished:
                self._cancel(rid)

    def _next_reply(self, replies: queue.Queue, process: subprocess.Popen) -> Any:
        """The next reply, `_DIED` if the child exited (even between the reader's last look and our send)."""
        waited = 0.0
        while True:
            try:
                return replies.get(timeout=1.0)
            except queue.Empty:
                waited += 1.0
            if process.poll() is not None:
                if not self.last_exit:
                    self.last_exit = self._exit_reason(process, during="run")
                return _DIED
            if waited >= self.reply_timeout:
                raise BackendUnavailableError(f"{self.name} sent nothing for {self.reply_timeout:.0f} s")

    def _send(self, message: dict[str, Any]) -> subprocess.Popen:
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None or process.stdin is None:
                raise WorkerDiedError(f"{self.name} worker is not running: {self.last_exit or 'not started'}")
            try:
                process.stdin.write(json.dumps(message) + "\n")
                process.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                raise WorkerDiedError(f"{self.name} worker is gone: {exc}") from exc
            return process

    def _cancel(self, rid: int) -> None:
        try:
            self._send({"cancel": rid})
        except WorkerDiedError:
            pass

    # --- reader threads ------------------------------------------------------------------------
    def _read_replies(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            message = _parse(line)
            target = self._pending.get(message.get("id", -1))
            if target is not None:
                target.put(message)
        self.last_exit = self._exit_reason(process, during="run")
        log.log(logging.INFO if self._closing else logging.ERROR, "%s worker exited: %s", self.name, self.last_exit)
        for target in list(self._pending.values()):
            target.put(_DIED)

    def _drain_stderr(self, process: subprocess.Popen) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if line.strip():
                self._stderr.append(line.rstrip())
                log.debug("%s: %s", self.name, line.rstrip())

    def _exit_reason(self, process: subprocess.Popen, during: str) -> str:
        try:
            code = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return f"stopped answering during {during}"
        if code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        if self._stderr_reader is not None:
            self._stderr_reader.join(timeout=2)  # its last lines usually say why
        tail = " | ".join(list(self._stderr)[-3:])
        return f"{self.name} worker {how} during {during}" + (f" (stderr: {tail[-300:]})" if tail else "")


def _parse(line: str) -> dict[str, Any]:
    try:
        message = json.loads(line) if line.strip() else {}
    except json.JSONDecodeError:
        return {}
    return message if isinstance(message, dict) else {}


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        log.error("worker pid %d did not exit after SIGKILL", process.pid)
