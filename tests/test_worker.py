"""`ChildWorker`: a model in a child process whose crash fails one request, never the caller's process."""

import sys
import threading
import time
from pathlib import Path

import pytest

from tutor.errors import BackendUnavailableError
from tutor.generate.worker import ChildWorker, WorkerDiedError

ECHO = str(Path(__file__).parent / "workers" / "echo_worker.py")


def worker(mode: str = "ok") -> ChildWorker:
    return ChildWorker([sys.executable, ECHO, mode], name="echo", start_timeout=30, reply_timeout=30)


def ask(w: ChildWorker, text: str) -> str:
    return "".join(w.stream({"messages": [{"role": "user", "content": text}], "max_tokens": 50}))


@pytest.fixture
def echo():
    w = worker()
    yield w
    w.close()


def test_streams_a_reply_piece_by_piece(echo):
    pieces = list(echo.stream({"messages": [{"role": "user", "content": "one two three"}]}))
    assert pieces == ["one", " two", " three"]
    assert echo.pid is not None and echo.starts == 1


def test_a_model_that_cannot_load_says_why():
    with pytest.raises(BackendUnavailableError, match="bad magic"):
        worker("fatal").start()


def test_a_crash_while_loading_names_the_signal_and_the_last_log_line():
    with pytest.raises(BackendUnavailableError) as caught:
        worker("crash-at-start").start()
    assert "SIGSEGV" in str(caught.value) and "during start" in str(caught.value)
    assert "loading model.gguf" in str(caught.value)


def test_a_crash_mid_answer_fails_that_request_and_the_next_one_restarts_the_worker(echo):
    assert ask(echo, "warm up") == "warm up"
    first_pid = echo.pid
    received = []
    with pytest.raises(WorkerDiedError) as caught:
        for piece in echo.stream({"messages": [{"role": "user", "content": "please CRASH now"}]}):
            received.append(piece)
    assert received == ["please"]  # the answer was under way when the worker died
    assert "SIGSEGV" in str(caught.value) and "illegal instruction" in str(caught.value)
    assert ask(echo, "still here") == "still here"
    assert echo.starts == 2 and echo.pid not in (None, first_pid)


def test_stopping_a_stream_early_cancels_it_in_the_child(echo):
    words = " ".join(f"w{i}" for i in range(200))
    stream = echo.stream({"messages": [{"role": "user", "content": words}], "max_tokens": 200})
    assert next(stream) == "w0"
    stream.close()  # a learner who disconnects
    started = time.monotonic()
    assert ask(echo, "next question") == "next question"
    assert time.monotonic() - started < 1.5  # 200 words at 10 ms would take 2 s if the child kept going


def test_concurrent_callers_each_get_their_own_reply(echo):
    results: dict[int, str] = {}

    def run(i: int) -> None:
        results[i] = ask(echo, f"caller {i} says hello")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == {i: f"caller {i} says hello" for i in range(4)}
