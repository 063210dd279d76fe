"""How many asks a server takes on: a pool of ask workers, a bounded number pending, a rate per client.

Asks run on their own thread pool, not the event loop's shared one, so `/healthz` and lesson listings stay
fast however many asks are queued. Past `max_pending` an ask is turned away at once with 503 and a reason,
and a client that asks faster than `rate_limit` per minute gets 429 with `Retry-After`; memory stays
bounded and nothing waits without limit. A streamed ask that loses its client is closed in its worker,
so whatever it holds (an LLM slot, a worker request) is freed at once, not when garbage is collected.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from tutor.errors import OverloadedError, RateLimitedError

log = logging.getLogger(__name__)

T = TypeVar("T")
_DONE = object()


class RateLimiter:
    """A token bucket per client: `per_minute` asks a minute, in bursts of up to `per_minute` (0 = off).

    Only the most recently seen `max_clients` are remembered, so a flood of addresses cannot grow it."""

    def __init__(self, per_minute: int, max_clients: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Take one token for `client`, or raise `RateLimitedError` saying when the next one is due."""
        if self.per_minute <= 0:
            return
        rate = self.per_minute / 60.0
        now = self.clock()
        with self._lock:
            tokens, seen = self._buckets.pop(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - seen) * rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / rate)
                raise RateLimitedError(
                    f"too many questions from this address: {self.per_minute} a minute at most; try again in {wait} s",
                    retry_after=wait,
                )
            self._buckets[client] = (tokens - 1.0, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)


class AskPool:
    """Runs asks on `workers` threads with at most `max_pending` admitted (running or waiting)."""

    def __init__(self, workers: int = 4, max_pending: int = 64, rate_limit: int = 0) -> None:
        self.workers = workers
        self.max_pending = max_pending
        self.limiter = RateLimiter(rate_limit)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ask")
        self._pending = 0
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Any, uses_llm: bool) -> AskPool:
        """Sized for the machine: CPU-bound asks gain nothing from more threads than cores, while asks
        that wait on an LLM need one thread per request the LLM may be serving."""
        workers = settings.ask_workers or max(2, os.cpu_count() or 2)
        if uses_llm and not settings.ask_workers:
            workers = max(workers, settings.llm_concurrency)
        return cls(workers, settings.max_pending, settings.rate_limit)

    @property
    def pending(self) -> int:
        return self._pending

    def admit(self, client: str) -> Admission:
        """A slot for one ask from `client`; raises `RateLimitedError` or `OverloadedError` instead."""
        self.limiter.check(client)
        with self._lock:
            if self._pending >= self.max_pending:
                raise OverloadedError(
                    f"the tutor is busy: {self._pending} questions are already being answered or waiting; "
                    "please ask again in a moment"
                )
            self._pending += 1
        return Admission(self)

    def _release(self) -> None:
        with self._lock:
            self._pending -= 1

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def batches(self, items: Iterator[T]) -> AsyncIterator[list[T]]:
        """`items` produced by one ask worker and handed over as they come, everything already produced at
        once: under load a stream goes out in a few writes, while pieces that trickle in (an LLM) still go
        out one by one. When the consumer stops early (a client disconnects), the worker stops at the next
        piece and closes `items`, so what the stream holds is freed then, not at garbage collection."""
        loop = asyncio.get_running_loop()
        handed: asyncio.Queue[tuple[Any, BaseException | None]] = asyncio.Queue()
        stop = threading.Event()

        def hand(item: Any, error: BaseException | None = None) -> None:
            try:
                loop.call_soon_threadsafe(handed.put_nowait, (item, error))
            except RuntimeError:  # the event loop is gone (server shutting down): nobody is listening
                stop.set()

        def produce() -> None:
            try:
                for item in items:
                    if stop.is_set():
                        return
                    hand(item)
                hand(_DONE)
            except BaseException as exc:  # handed to the consumer, raised there
                hand(_DONE, exc)
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()

        loop.run_in_executor(self._executor, produce)
        try:
            while True:
                batch: list[T] = []
                for item, error in [await handed.get(), *_drain(handed)]:
                    if item is _DONE:
                        if batch:
                            yield batch
                        if error is not None:
                            raise error
                        return
                    batch.append(item)
                yield batch
        finally:
            stop.set()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _drain(queue: asyncio.Queue) -> list[Any]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


class Admission:
    """Holds one pending slot until released (a context manager, or `release()` once a stream ends)."""

    def __init__(self, pool: AskPool) -> None:
        self._pool = pool
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._pool._release()

    def __enter__(self) -> Admission:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
