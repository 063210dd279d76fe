"""Serving many learners: asks run side by side, LLM calls are limited (not serialised), overload is a
clear 429/503, health checks never wait behind asks, and a dropped stream frees what it holds."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from test_backends import HAS_LLAMA, LESSON, with_backend

from evals.fake_llm import slow_chat_server
from tutor.answer import Answer
from tutor.errors import OverloadedError, RateLimitedError
from tutor.generate.openai import OpenAIBackend
from tutor.serve.admission import AskPool, RateLimiter
from tutor.serve.api import create_api
from tutor.serve.feedback import FeedbackStore
from tutor.settings import Settings, default_gguf_model


# --- the parts ---------------------------------------------------------------------------------------
def test_rate_limiter_refills_and_says_when_to_retry():
    now = [0.0]
    limiter = RateLimiter(per_minute=2, clock=lambda: now[0])
    limiter.check("a")
    limiter.check("a")
    with pytest.raises(RateLimitedError) as refused:
        limiter.check("a")
    assert refused.value.retry_after == 30  # one token per 30 s at 2 a minute
    limiter.check("b")  # another client has its own allowance
    now[0] = 30.0
    limiter.check("a")


def test_rate_limiter_remembers_a_bounded_number_of_clients():
    limiter = RateLimiter(per_minute=5, max_clients=100)
    for i in range(1000):
        limiter.check(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._buckets) == 100


def test_pool_admits_up_to_its_bound_and_frees_on_release():
    pool = AskPool(workers=1, max_pending=2)
    first, second = pool.admit("a"), pool.admit("a")
    with pytest.raises(OverloadedError, match="busy"):
        pool.admit("a")
    first.release()
    first.release()  # twice is once
    with pool.admit("a"):
        assert pool.pending == 2
    second.release()
    assert pool.pending == 0
    pool.close()


def test_a_stream_dropped_by_its_consumer_is_closed_at_once():
    pool = AskPool(workers=2)
    closed = threading.Event()
    made: list[int] = []

    def pieces():
        try:
            for i in range(1000):
                time.sleep(0.005)  # an LLM producing tokens
                made.append(i)
                yield i
        finally:
            closed.set()

    async def read_two() -> list[int]:
        got: list[int] = []
        stream = pool.batches(pieces())
        async for batch in stream:
            got += batch
            if len(got) >= 2:
                break
        await stream.aclose()  # what Starlette does when the client goes away
        return got[:2]

    assert asyncio.run(read_two()) == [0, 1]
    assert closed.wait(5), "the abandoned stream was never closed"
    assert len(made) < 50, "the stream kept producing after its consumer left"
    pool.close()


def test_a_failure_inside_a_stream_reaches_its_consumer():
    pool = AskPool(workers=1)

    def pieces():
        yield "a"
        raise RuntimeError("backend fell over")

    async def read_all() -> list[str]:
        return [item async for batch in pool.batches(pieces()) for item in batch]

    with pytest.raises(RuntimeError, match="fell over"):
        asyncio.run(read_all())
    pool.close()


# --- the API under load, with a stand-in tutor ----------------------------------------------------------
class _SlowTutor:
    """Each ask waits until `release` is set; counts how many run at once."""

    def __init__(self, **settings) -> None:
        self.settings = Settings(**settings)
        self.release = threading.Event()
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def lesson_count(self):
        return 1

    def lessons(self):
        return []

    def lesson(self, lesson_id):
        return None

    def prepare(self, question, lesson_id=None, history=None, course=None):
        return question

    def run(self, state):
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            self.release.wait(30)
            return Answer(answer=f"answer to {state}", refused=False, question=state)
        finally:
            with self._lock:
                self.running -= 1

    def stream_prepared(self, state):
        yield "piece "
        yield self.run(state)


def _api(tutor, tmp_path, **pool):
    return create_api(tutor, FeedbackStore(tmp_path / "fb.sqlite3"), None, pool=AskPool(**pool))


def test_asks_run_side_by_side_and_health_never_waits_behind_them(tmp_path):
    tutor = _SlowTutor()
    app = _api(tutor, tmp_path, workers=4, max_pending=8)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tutor") as client:
            asks = [asyncio.create_task(client.post("/api/ask", json={"question": f"q{i}"})) for i in range(4)]
            for _ in range(100):  # until all four are being worked on
                if tutor.running == 4:
                    break
                await asyncio.sleep(0.02)
            started = time.perf_counter()
            health = await client.get("/healthz")
            health_s = time.perf_counter() - started
            tutor.release.set()
            replies = await asyncio.gather(*asks)
            return health, health_s, replies

    health, health_s, replies = asyncio.run(scenario())
    assert tutor.most == 4, "asks were serialised"
    assert health.status_code == 200 and health.json()["asks_pending"] == 4
    assert health_s < 1.0
    assert [r.status_code for r in replies] == [200] * 4


def test_overload_is_a_503_with_a_reason_and_a_fast_client_gets_429(tmp_path):
    tutor = _SlowTutor()
    app = _api(tutor, tmp_path, workers=1, max_pending=2, rate_limit=3)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tutor") as client:
            held = [asyncio.create_task(client.post("/api/ask", json={"question": f"q{i}"})) for i in range(2)]
            while tutor.running < 1:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.05)
            busy = await client.post("/api/ask", json={"question": "one more"})
            limited = await client.post("/api/ask", json={"question": "and another"})
            tutor.release.set()
            return busy, limited, await asyncio.gather(*held)

    busy, limited, held = asyncio.run(scenario())
    assert busy.status_code == 503 and "busy" in busy.json()["detail"] and busy.headers["retry-after"]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "a minute" in limited.json()["detail"]
    assert [r.status_code for r in held] == [200, 200]


def test_a_disconnected_stream_releases_its_slot(tmp_path):
    tutor = _SlowTutor()
    tutor.release.set()
    pool = AskPool(workers=2, max_pending=1)
    app = create_api(tutor, FeedbackStore(tmp_path / "fb.sqlite3"), None, pool=pool)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tutor") as client:
            headers = {"Accept": "text/event-stream"}
            async with client.stream("POST", "/api/ask", json={"question": "q"}, headers=headers) as response:
                async for _ in response.aiter_text():
                    break  # the learner closes the tab after the first piece
            for _ in range(100):
                if pool.pending == 0:
                    break
                await asyncio.sleep(0.02)
            return pool.pending, await client.post("/api/ask", json={"question": "next"})

    pending, after = asyncio.run(scenario())
    assert pending == 0 and after.status_code == 200


# --- real backends --------------------------------------------------------------------------------------
@pytest.fixture
def slow_llm():
    with slow_chat_server(delay=2.0) as server:
        yield server


@pytest.mark.slow
@pytest.mark.parametrize("concurrency", [8, 2])
def test_llm_asks_overlap_up_to_the_concurrency_limit(seed_tutor, slow_llm, concurrency):
    url, llm = slow_llm
    backend = OpenAIBackend(url, "slow", timeout=30).limit(concurrency, timeout=60)
    tutor = with_backend(seed_tutor, backend)
    tutor.ask("What does fine-tuning change?", lesson_id=LESSON)  # warm: models loaded, BM25 built
    llm.most = 0
    asks = 8 if concurrency == 8 else 4
    started = time.perf_counter()
    with ThreadPoolExecutor(asks) as pool:
        answers = list(pool.map(lambda _: tutor.ask("What does fine-tuning change?", lesson_id=LESSON), range(asks)))
    took = time.perf_counter() - started
    assert all(a.backend == "openai" for a in answers)
    assert llm.most == min(concurrency, asks)
    rounds = -(-asks // concurrency)
    assert took < rounds * llm.delay + 4, f"{asks} asks at concurrency {concurrency} took {took:.1f} s"
    if concurrency == 8:
        assert took < asks * llm.delay / 2  # well under one at a time


@pytest.mark.slow
@pytest.mark.skipif(not HAS_LLAMA, reason="the llamacpp extra is not installed")
def test_two_overlapping_llamacpp_streams_both_finish(seed_tutor):
    from tutor.generate.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(default_gguf_model()).limit(4, timeout=120)
    tutor = with_backend(seed_tutor, backend)
    try:
        first = tutor.stream("What does fine-tuning amplify?", lesson_id=LESSON)
        second = tutor.stream("What should you try first, prompting or fine-tuning?", lesson_id=LESSON)
        results: dict[str, list] = {"first": [], "second": []}

        def drain(name, stream):
            for item in stream:
                results[name].append(item)

        # Interleave: take one piece of the first, then run the second to the end while the first is open.
        results["first"].append(next(first))
        other = threading.Thread(target=drain, args=("second", second))
        other.start()
        other.join(180)
        assert not other.is_alive(), "the second stream never finished while the first was open"
        drain("first", first)
        for name in results:
            assert isinstance(results[name][-1], Answer), name
    finally:
        backend.close()


def test_an_unreachable_index_is_degraded_health_and_a_503_that_says_why(tmp_path):
    from tutor.errors import StoreUnavailableError

    class _IndexDown(_SlowTutor):
        def lesson_count(self):
            raise StoreUnavailableError("the lesson index at http://127.0.0.1:9 is unreachable (ConnectError)")

        def prepare(self, question, lesson_id=None, history=None, course=None):
            self.lesson_count()

    client = TestClient(_api(_IndexDown(), tmp_path))
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["status"] == "degraded" and "unreachable" in health.json()["reason"]
    ask = client.post("/api/ask", json={"question": "What is RAG?"})
    assert ask.status_code == 503 and "lesson index" in ask.json()["detail"]


@pytest.mark.slow
def test_a_slow_llm_times_out_into_the_extractive_answer_marked_fallback(seed_tutor, caplog):
    with slow_chat_server(delay=3.0) as (url, _):
        tutor = with_backend(seed_tutor, OpenAIBackend(url, "slow", timeout=0.5, retries=0).limit(4, timeout=5))
        started = time.perf_counter()
        answer = tutor.ask("What does fine-tuning change?", lesson_id=LESSON)
    assert answer.fallback and answer.citations and not answer.refused
    assert "Timeout" in answer.fallback_reason or "timed out" in answer.fallback_reason.lower()
    assert time.perf_counter() - started < 3.0


@pytest.mark.slow
def test_an_ask_that_cannot_get_an_llm_slot_in_time_falls_back(seed_tutor):
    with slow_chat_server(delay=2.0) as (url, llm):
        tutor = with_backend(seed_tutor, OpenAIBackend(url, "slow", timeout=30).limit(1, timeout=0.3))
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: tutor.ask("What does fine-tuning change?", lesson_id=LESSON), range(2)))
    assert llm.most == 1
    waited = [a for a in answers if "slots stayed busy" in a.fallback_reason]
    assert len(waited) == 1 and waited[0].citations
