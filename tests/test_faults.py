"""Faults end to end, with real processes: a `chroma run` server that is down when the tutor starts and comes
back, `kill -9` in the middle of `tutor ingest`, and `kill -9` of the server in the middle of an answer."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import REPO, SEED_CORPUS, child_env, free_port, serving
from test_store import chroma_process

pytestmark = pytest.mark.slow

MLFB = REPO / "corpus" / "ml-for-beginners"
LESSON = "fine-tuning-vs-prompting"


def wait_for(check, timeout: float, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    return None


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tutor.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_server_starts_degraded_without_its_chroma_server_and_recovers(tmp_path):
    port, data = free_port(), tmp_path / "chroma-data"
    url = f"http://127.0.0.1:{port}"
    env = child_env(TUTOR_HOME=str(tmp_path / "home"), TUTOR_CORPUS=str(SEED_CORPUS), TUTOR_CHROMA_URL=url)
    with chroma_process(data, port):
        assert cli("ingest", "--json", env=env).returncode == 0

    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    tutor_port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tutor.cli", "serve", "--host", "127.0.0.1", "--port", str(tutor_port)],
        cwd=REPO,
        env={**env, "TUTOR_CORPUS": str(corpus)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    tutor = f"http://127.0.0.1:{tutor_port}"
    try:

        def degraded():
            try:
                reply = httpx.get(f"{tutor}/healthz", timeout=2)
            except httpx.HTTPError:
                return None
            return reply if reply.status_code == 503 else None

        health = wait_for(degraded, 120)
        assert health is not None, "the server did not come up degraded"
        assert health.json()["status"] == "degraded" and url in health.json()["reason"]
        ask = httpx.post(f"{tutor}/api/ask", json={"question": "What is fine-tuning?", "lesson_id": LESSON}, timeout=30)
        assert ask.status_code == 503 and "lesson index" in ask.json()["detail"]

        with chroma_process(data, port):
            back = time.monotonic()
            # Back: the server syncs its corpus folder, which it could not do at start, then says "ok".
            ok = wait_for(lambda: httpx.get(f"{tutor}/healthz", timeout=5).json()["status"] == "ok", 30)
            recovered_s = time.monotonic() - back
            assert ok, "the tutor did not recover when its chroma server came back"
            answer = httpx.post(
                f"{tutor}/api/ask", json={"question": "Why does it matter?", "lesson_id": LESSON}, timeout=60
            )
            assert answer.status_code == 200 and answer.json()["citations"]
        assert recovered_s < 30
    finally:
        process.terminate()
        process.wait(timeout=30)


def lesson_rows(home: Path) -> dict[str, int]:
    """Per lesson: how many chunks the index holds, read by a fresh process (the index is on disk)."""
    script = (
        "import json; from tutor.settings import Settings; from tutor.store.chroma import open_store;"
        "store = open_store(Settings.from_env(), lazy=True, scoped=False);"
        "rows = store.chunks.get(include=['metadatas']);"
        "ids = rows['ids']; assert len(ids) == len(set(ids));"
        "per = {}; [per.__setitem__(m['lesson_id'], per.get(m['lesson_id'], 0) + 1) for m in rows['metadatas']];"
        "marked = {r.id: r.chunks for r in store.lessons()};"
        "print(json.dumps({'chunks': per, 'lessons': marked}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=child_env(TUTOR_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_kill_9_during_ingest_then_a_rerun_indexes_every_lesson_exactly_once(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in sorted(MLFB.glob("mlfb-*.md"))[:8]:
        shutil.copy(path, corpus)
    home = tmp_path / "home"
    # Small chunks: several embed-and-store rounds, so there is a moment with part of the index written.
    env = child_env(TUTOR_HOME=str(home), TUTOR_CORPUS=str(corpus), TUTOR_CHUNK_TOKENS="48")
    ingest = subprocess.Popen(
        [sys.executable, "-m", "tutor.cli", "ingest"], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True
    )
    # Kill it once it has stored some lessons but not all: the progress bar moves after each stored group.
    progress: list[tuple[int, int]] = []

    def read_progress() -> None:
        buffer = ""
        while char := ingest.stderr.read(1):
            buffer = (buffer + char)[-200:]
            for done, total in re.findall(r"(\d+)/(\d+) \[", buffer):
                progress.append((int(done), int(total)))

    threading.Thread(target=read_progress, daemon=True).start()
    assert wait_for(lambda: any(0 < done < total for done, total in progress), 180, every=0.05), progress[-3:]
    os.kill(ingest.pid, signal.SIGKILL)
    ingest.wait(timeout=30)
    assert ingest.returncode == -signal.SIGKILL

    rerun = cli("ingest", "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    state = lesson_rows(home)
    wanted = {p.stem for p in corpus.glob("*.md")}
    assert set(state["lessons"]) == wanted
    assert state["chunks"] == state["lessons"], "a lesson has missing or duplicate chunks after the crash"
    assert json.loads(rerun.stdout)["errors"] == []
    again = json.loads(cli("ingest", "--json", env=env).stdout)
    assert again["embedded"] == 0 and again["unchanged"] == len(wanted)


def test_kill_9_of_the_server_mid_answer_loses_no_feedback_and_it_restarts(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    with serving(tmp_path, corpus) as server:
        for i in range(3):
            body = {"question": f"q{i}", "answer": "a", "lesson_id": LESSON, "rating": "up"}
            assert httpx.post(f"{server.url}/api/feedback", json=body, timeout=10).status_code == 200
        with httpx.stream(
            "POST",
            f"{server.url}/api/ask",
            json={"question": "When should I fine-tune instead of prompting?", "lesson_id": LESSON},
            headers={"Accept": "text/event-stream"},
            timeout=60,
        ) as stream:
            for _ in stream.iter_lines():
                os.kill(server.process.pid, signal.SIGKILL)  # mid-answer
                break
        server.process.wait(timeout=30)
    with sqlite3.connect(tmp_path / "home" / "tutor.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM feedback").fetchone() == (3,)
    with serving(tmp_path, corpus) as again:
        assert httpx.get(f"{again.url}/healthz", timeout=10).json()["lessons"] == 4
        body = {"question": "q3", "answer": "a", "lesson_id": LESSON, "rating": "down"}
        assert httpx.post(f"{again.url}/api/feedback", json=body, timeout=10).status_code == 200
    with sqlite3.connect(tmp_path / "home" / "tutor.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM feedback").fetchone() == (4,)
