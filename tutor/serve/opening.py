"""Lessons made ready while the learner reads: opening the tutor beside a lesson starts its preparation.

A lesson's first question otherwise pays for reading the lesson's chunks and, when sentences are embedded
at ask time, for embedding the sentences of every passage it retrieves (on two cores, most of that ask).
A learner who opens the tutor takes seconds to type a question; the lesson is prepared in those seconds.

One worker prepares lessons in the order they are opened, so a burst of page views queues instead of
taking every core from the asks; a lesson opened again while (or after) it is prepared costs nothing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from tutor.errors import OverloadedError
from tutor.pipeline import Tutor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Opened:
    """What preparing one lesson did."""

    lesson_id: str
    sentences_embedded: int
    seconds: float


MAX_WAITING = 16  # lessons queued for preparation at most: a flood of opens must not queue the catalog


class LessonOpener:
    def __init__(self, tutor: Tutor, max_waiting: int = MAX_WAITING) -> None:
        self.tutor = tutor
        self.max_waiting = max_waiting
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="open-lesson")
        self._opened: dict[str, Future[Opened]] = {}
        self._lock = threading.Lock()

    def open(self, lesson_id: str) -> Future[Opened]:
        """The lesson's preparation: started now, or the one already under way or done. With `max_waiting`
        lessons already queued, `OverloadedError` (its first question then does the work itself)."""
        with self._lock:
            future = self._opened.get(lesson_id)
            if future is None or (future.done() and future.exception() is not None):
                if sum(not f.done() for f in self._opened.values()) >= self.max_waiting:
                    raise OverloadedError(f"{self.max_waiting} lessons are being prepared; try again shortly")
                future = self._opened[lesson_id] = self._worker.submit(self._prepare, lesson_id)
            return future

    def start(self, lesson_id: str) -> None:
        """Start preparing the lesson and return at once; with the queue full, leave it to its first question
        (for callers that serve a page and must not fail it: the widget's chat, the chat page)."""
        with contextlib.suppress(OverloadedError):
            self.open(lesson_id)

    def forget(self) -> None:
        """The lessons changed: a lesson opened next is prepared again (its changed passages embedded)."""
        with self._lock:
            self._opened = {lesson: f for lesson, f in self._opened.items() if not f.done()}

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _prepare(self, lesson_id: str) -> Opened:
        started = time.perf_counter()
        try:
            embedded = self.tutor.open_lesson(lesson_id)
        except Exception:  # the ask itself does the work then, and reports what fails
            log.exception("could not prepare lesson %s", lesson_id)
            raise
        opened = Opened(lesson_id, embedded, round(time.perf_counter() - started, 3))
        log.info("lesson %s prepared: %d sentences embedded in %.2fs", lesson_id, embedded, opened.seconds)
        return opened
