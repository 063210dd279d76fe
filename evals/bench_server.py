"""Measure `tutor serve`: time to ready (empty index, then index already built), time to first SSE token
and to the full answer on /api/ask, and the server's memory. Numbers go to `evals/results/server.json`.

The server runs as a subprocess on 127.0.0.1 with a throwaway data dir; the script sends a bounded number
of requests and always stops the server.

    python evals/bench_server.py                       # bundled corpus, 10 timed questions
    python evals/bench_server.py --corpus corpus/seeds --questions 5
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
READY_MARK = "Tutor ready at "
log = logging.getLogger("bench_server")

# (question, lesson id or None) - answerable and off-lesson questions; a lesson missing from the corpus is
# asked across all lessons instead, so the script works with any corpus.
QUESTIONS: list[tuple[str, str | None]] = [
    ("When should I fine-tune instead of prompting?", "when-to-fine-tune-vs-when-to-just-prompt-a-decision"),
    ("What is the capital of Australia?", "when-to-fine-tune-vs-when-to-just-prompt-a-decision"),
    ("Why does fine-tuning vs prompting matter?", "fine-tuning-vs-prompting"),
    ("What is machine learning?", "mlfb-01-intro-to-ml"),
    ("What is polynomial regression?", "mlfb-07-linear"),
    ("Who won the 2018 World Cup?", "mlfb-07-linear"),
    ("What is the Turing test?", "mlfb-16-introduction-to-nlp"),
    ("How do I split my dataset?", "mlfb-04-techniques-of-ml"),
    ("What is ARIMA?", None),
    ("How do I bake sourdough bread?", None),
    ("What is a confusion matrix?", "mlfb-08-logistic"),
    ("What is reinforcement learning?", None),
]


class ServerProcess:
    """`python -m tutor.cli serve` with its output drained in a thread and the ready line timestamped."""

    def __init__(self, home: Path, corpus: list[Path], port: int, extra_env: dict[str, str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TUTOR_")}
        env.update(TUTOR_HOME=str(home), TUTOR_CORPUS=os.pathsep.join(map(str, corpus)), PYTHONUNBUFFERED="1")
        env.update(extra_env or {})
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.ready_at: float | None = None
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tutor.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if self.ready_at is None and line.startswith(READY_MARK):
                self.ready_at = time.perf_counter()
            self.lines.append(line.rstrip())

    def wait_ready(self, timeout: float = 900) -> float:
        """Seconds from process start to the ready line (and /healthz answering)."""
        deadline = time.monotonic() + timeout
        while self.ready_at is None:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + "\n".join(self.lines[-30:]))
            if time.monotonic() > deadline:
                raise TimeoutError("server not ready:\n" + "\n".join(self.lines[-30:]))
            time.sleep(0.02)
        httpx.get(self.url + "/healthz", timeout=30).raise_for_status()
        return self.ready_at - self.started

    def rss_mb(self) -> float:
        out = subprocess.run(["ps", "-o", "rss=", "-p", str(self.proc.pid)], capture_output=True, text=True)
        return round(int(out.stdout.strip() or 0) / 1024, 1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed_sse(client: httpx.Client, question: str, lesson_id: str | None) -> dict[str, Any]:
    """One streamed ask: ms to the first `token` event and to the `answer` event."""
    body = {"question": question, **({"lesson_id": lesson_id} if lesson_id else {})}
    start = time.perf_counter()
    first = None
    answer: dict[str, Any] | None = None
    event = ""
    with client.stream("POST", "/api/ask", json=body, headers={"Accept": "text/event-stream"}) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                if event == "token" and first is None:
                    first = time.perf_counter()
                elif event == "answer":
                    answer = json.loads(line[6:])
    end = time.perf_counter()
    if answer is None:
        raise RuntimeError(f"no answer event for {question!r}")
    return {
        "question": question,
        "lesson_id": lesson_id,
        "refused": answer["refused"],
        "first_token_ms": round(((first or end) - start) * 1000, 1),
        "answer_ms": round((end - start) * 1000, 1),
        "pipeline_total_ms": answer.get("timings_ms", {}).get("total"),
    }


def timed_json(client: httpx.Client, question: str, lesson_id: str | None) -> float:
    body = {"question": question, **({"lesson_id": lesson_id} if lesson_id else {})}
    start = time.perf_counter()
    client.post("/api/ask", json=body).raise_for_status()
    return round((time.perf_counter() - start) * 1000, 1)


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 1),
        "min": ordered[0],
        "max": ordered[-1],
        "p90": ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))],
    }


def run(corpus: list[Path], n_questions: int, home: Path) -> dict[str, Any]:
    result: dict[str, Any] = {
        "corpus": [str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p) for p in corpus],
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
    }
    # 1. empty data dir: the server indexes the corpus before it is ready
    log.info("starting with an empty index (%s)", ", ".join(result["corpus"]))
    server = ServerProcess(home, corpus, free_port())
    try:
        result["ready_s_empty_index"] = round(server.wait_ready(), 2)
        result["rss_mb_after_indexing"] = server.rss_mb()
    finally:
        server.stop()
    # 2. index already built: the usual restart
    log.info("ready in %.1fs; restarting on the built index", result["ready_s_empty_index"])
    server = ServerProcess(home, corpus, free_port())
    try:
        result["ready_s_index_built"] = round(server.wait_ready(), 2)
        result["rss_mb_idle"] = server.rss_mb()
        with httpx.Client(base_url=server.url, timeout=120) as client:
            rows = client.get("/api/lessons").json()
            lessons = {row["id"] for row in rows}
            result["lessons"] = len(lessons)
            # The server verifies the first lesson's starter questions in the background after start;
            # wait for that (the request blocks until done) so it does not skew the ask timings.
            start = time.perf_counter()
            client.get(f"/api/lessons/{rows[0]['id']}/starters").raise_for_status()
            result["starters_first_lesson_wait_ms"] = round((time.perf_counter() - start) * 1000, 1)
            start = time.perf_counter()
            client.get(f"/api/lessons/{rows[-1]['id']}/starters").raise_for_status()
            result["starters_uncached_lesson_ms"] = round((time.perf_counter() - start) * 1000, 1)
            asks = [(q, lid if lid in lessons else None) for q, lid in QUESTIONS][:n_questions]
            log.info("ready in %.1fs; timing %d questions", result["ready_s_index_built"], len(asks))
            warm = timed_sse(client, *asks[0])  # first ask after start pays one-off costs
            result["first_ask_after_start"] = warm
            runs, json_ms = [], []
            for q, lid in asks:
                runs.append(timed_sse(client, q, lid))
                json_ms.append(timed_json(client, q, lid))  # the same question again: shows the tutor's caches
            result["sse_first_token_ms"] = summary([r["first_token_ms"] for r in runs])
            result["sse_full_answer_ms"] = summary([r["answer_ms"] for r in runs])
            result["json_repeat_answer_ms"] = summary(json_ms)
            result["asks"] = runs
            result["requests"] = 4 + 2 * len(asks)
        result["rss_mb_after_asks"] = server.rss_mb()
    finally:
        server.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", type=Path, help="lesson folder(s); default: bundled corpus/")
    parser.add_argument("--questions", type=int, default=10, help=f"timed questions (max {len(QUESTIONS)})")
    parser.add_argument("--out", type=Path, default=REPO / "evals" / "results" / "server.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    corpus = [p.resolve() for p in (args.corpus or [REPO / "corpus"])]
    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp:
        result = run(corpus, max(1, min(args.questions, len(QUESTIONS))), Path(tmp) / "home")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "asks"}, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
