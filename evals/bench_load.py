"""Serving under load: many concurrent learners against one `tutor serve`, and LLM throughput by concurrency.

    python -m evals.bench_load                      # 50 clients x 60 s, two rounds; fake 2 s LLM at 1 and 8
    python -m evals.bench_load --clients 20 --seconds 15 --rounds 1

Scenario "learners": `--clients` clients on 127.0.0.1 for `--seconds`, each in a loop mixing JSON asks, SSE
asks (a third of them hang up after the first token), lesson listings and health checks; run `--rounds`
times with the server's RSS after each. Scenario "llm": the server with `TUTOR_LLM=openai` against a fake
OpenAI-compatible server that takes 2 s per answer, `--llm-asks` asks at once, at each concurrency.
Scenario "faults": the `chroma run` server stopped and started again under a running tutor (time to
degraded, to recovered), and an LLM endpoint that is down (the extractive fallback). Every loop is bounded
in count and time. JSON goes to `evals/results/load.json` and a Markdown summary
beside it. The per-client rate limit is off in the learners scenario: all its clients share one address.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from evals.bench_server import QUESTIONS, REPO, ServerProcess, free_port
from evals.fake_llm import slow_chat_server

log = logging.getLogger("bench_load")
RESULTS = REPO / "evals" / "results"
SEED = REPO / "corpus" / "seeds"
SEED_LESSON = "when-to-fine-tune-vs-when-to-just-prompt-a-decision"


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 1)


def stats(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": pct(values, 0.5), "p95": pct(values, 0.95), "max": pct(values, 1.0)}


class Tally:
    """Status codes and latencies (ms) per request kind."""

    def __init__(self) -> None:
        self.codes: Counter[str] = Counter()
        self.ms: dict[str, list[float]] = {}
        self.errors: Counter[str] = Counter()

    def add(self, kind: str, code: int | str, ms: float) -> None:
        self.codes[str(code)] += 1
        self.ms.setdefault(kind, []).append(ms)

    def report(self, seconds: float) -> dict[str, Any]:
        total = sum(self.codes.values())
        return {
            "requests": total,
            "per_second": round(total / seconds, 1),
            "codes": dict(self.codes),
            "server_errors": sum(n for code, n in self.codes.items() if code.startswith("5")),
            "transport_errors": dict(self.errors),
            "latency_ms": {kind: stats(values) for kind, values in sorted(self.ms.items())},
        }


async def sse_ask(client: httpx.AsyncClient, body: dict[str, Any], hang_up: bool) -> int:
    """One streamed ask; with `hang_up`, disconnect after the first token like a closed tab."""
    async with client.stream("POST", "/api/ask", json=body, headers={"Accept": "text/event-stream"}) as response:
        if response.status_code != 200:
            await response.aread()
            return response.status_code
        async for line in response.aiter_lines():
            if hang_up and line.startswith("event: token"):
                return 299  # recorded apart: a deliberate hang-up, not a reply
            if line.startswith("event: error"):
                return 599
    return 200


async def learner(client: httpx.AsyncClient, tally: Tally, until: float, rng: random.Random, lessons: list[str]):
    while time.monotonic() < until:
        roll = rng.random()
        question, lesson = rng.choice(QUESTIONS)
        body = {"question": question, "lesson_id": lesson if lesson in lessons else None}
        start = time.perf_counter()
        try:
            if roll < 0.4:
                kind, code = "ask_json", (await client.post("/api/ask", json=body)).status_code
            elif roll < 0.7:
                hang_up = rng.random() < 1 / 3
                kind, code = ("ask_sse_hangup" if hang_up else "ask_sse"), await sse_ask(client, body, hang_up)
            elif roll < 0.85:
                kind, code = "lessons", (await client.get("/api/lessons")).status_code
            else:
                kind, code = "healthz", (await client.get("/healthz")).status_code
        except httpx.HTTPError as exc:
            tally.errors[type(exc).__name__] += 1
            continue
        tally.add(kind, code, (time.perf_counter() - start) * 1000)


async def learners_round(url: str, clients: int, seconds: float, seed: int) -> dict[str, Any]:
    tally = Tally()
    limits = httpx.Limits(max_connections=clients + 5, max_keepalive_connections=clients + 5)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        lessons = [row["id"] for row in (await client.get("/api/lessons")).json()]
        until = time.monotonic() + seconds
        started = time.perf_counter()
        await asyncio.gather(*(learner(client, tally, until, random.Random(seed + i), lessons) for i in range(clients)))
        took = time.perf_counter() - started
    return tally.report(took)


def learners_scenario(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    env = {"TUTOR_RATE_LIMIT": "0", "TUTOR_ASK_WORKERS": str(args.workers)}
    server = ServerProcess(home, [REPO / "corpus"], free_port(), env)
    try:
        server.wait_ready()
        httpx.post(server.url + "/api/ask", json={"question": "What is k-means?"}, timeout=120)  # warm
        rounds = []
        for i in range(args.rounds):
            result = asyncio.run(learners_round(server.url, args.clients, args.seconds, seed=1000 * i))
            result["rss_mb_after"] = server.rss_mb()
            rounds.append(result)
            log.warning("round %d: %s", i + 1, json.dumps({k: result[k] for k in ("requests", "codes")}))
        return {"clients": args.clients, "seconds": args.seconds, "workers": args.workers, "rounds": rounds}
    finally:
        server.stop()


async def llm_burst(url: str, asks: int) -> dict[str, Any]:
    body = {"question": "What does fine-tuning change?", "lesson_id": SEED_LESSON}
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        started = time.perf_counter()

        async def one() -> tuple[int, float, bool]:
            t = time.perf_counter()
            response = await client.post("/api/ask", json=body)
            fallback = response.status_code == 200 and response.json().get("fallback", False)
            return response.status_code, (time.perf_counter() - t) * 1000, fallback

        replies = await asyncio.gather(*(one() for _ in range(asks)))
        took = time.perf_counter() - started
    return {
        "asks": asks,
        "wall_s": round(took, 2),
        "answers_per_s": round(asks / took, 2),
        "codes": dict(Counter(str(code) for code, _, _ in replies)),
        "fallbacks": sum(1 for *_, fb in replies if fb),
        "latency_ms": stats([ms for _, ms, _ in replies]),
    }


def llm_scenario(args: argparse.Namespace, home: Path) -> list[dict[str, Any]]:
    out = []
    for concurrency in args.concurrency:
        with slow_chat_server(delay=args.llm_delay) as (llm_url, llm):
            env = {
                "TUTOR_LLM": "openai",
                "TUTOR_LLM_BASE_URL": llm_url,
                "TUTOR_LLM_MODEL": "slow",
                "TUTOR_LLM_CONCURRENCY": str(concurrency),
                "TUTOR_ASK_WORKERS": str(args.workers),
                "TUTOR_LLM_TIMEOUT": "120",
                "TUTOR_RATE_LIMIT": "0",
            }
            server = ServerProcess(home, [SEED], free_port(), env)
            try:
                server.wait_ready()
                httpx.post(
                    server.url + "/api/ask", json={"question": "What is RAG?", "lesson_id": SEED_LESSON}, timeout=120
                )
                llm.most = 0
                result = asyncio.run(llm_burst(server.url, args.llm_asks))
                result.update(concurrency=concurrency, llm_delay_s=args.llm_delay, llm_most_in_flight=llm.most)
                out.append(result)
                log.warning("llm concurrency %d: %s", concurrency, json.dumps(result))
            finally:
                server.stop()
    return out


def wait_until(check: Any, timeout: float, every: float = 0.1) -> float | None:
    """Seconds until `check()` is true, or None after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return round(time.monotonic() - started, 2)
        except httpx.HTTPError:
            pass
        time.sleep(every)
    return None


def faults_scenario(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    """A `chroma run` server that goes away and comes back under a running tutor, and an LLM that is down."""
    import subprocess
    import sys

    port, data = free_port(), home / "chroma-data"
    chroma_url = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(data), "--port", str(port)]

    def start_chroma() -> subprocess.Popen:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: httpx.get(f"{chroma_url}/api/v2/heartbeat", timeout=1).status_code == 200, 60)
        return proc

    out: dict[str, Any] = {}
    chroma = start_chroma()
    server = ServerProcess(home / "tutor", [SEED], free_port(), {"TUTOR_CHROMA_URL": chroma_url})
    try:
        server.wait_ready()
        health = f"{server.url}/healthz"
        body = {"question": "Why does fine-tuning vs prompting matter?", "lesson_id": "fine-tuning-vs-prompting"}
        chroma.terminate()
        chroma.wait(timeout=30)
        out["chroma_down_to_degraded_s"] = wait_until(lambda: httpx.get(health, timeout=5).status_code == 503, 30)
        down = httpx.post(f"{server.url}/api/ask", json=body, timeout=60)
        out["ask_while_down"] = {"status": down.status_code, "detail": down.json().get("detail", "")}
        restarted = time.monotonic()
        chroma = start_chroma()
        out["chroma_back_to_ready_s"] = wait_until(lambda: httpx.get(health, timeout=5).status_code == 200, 60)
        out["chroma_restart_total_s"] = round(time.monotonic() - restarted, 2)
        out["ask_after_recovery_status"] = httpx.post(f"{server.url}/api/ask", json=body, timeout=60).status_code
    finally:
        server.stop()
        chroma.terminate()
        chroma.wait(timeout=30)

    dead_llm = f"http://127.0.0.1:{free_port()}/v1"
    env = {"TUTOR_LLM": "openai", "TUTOR_LLM_BASE_URL": dead_llm, "TUTOR_LLM_MODEL": "none"}
    server = ServerProcess(home / "llm-down", [SEED], free_port(), env)
    try:
        server.wait_ready()
        started = time.perf_counter()
        reply = httpx.post(f"{server.url}/api/ask", json={**body}, timeout=120).json()
        out["llm_down"] = {
            "answer_ms": round((time.perf_counter() - started) * 1000, 1),
            "fallback": reply["fallback"],
            "cited": bool(reply["citations"]),
        }
    finally:
        server.stop()
    log.warning("faults: %s", json.dumps(out))
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = ["# Serving under load", "", f"Machine: {result['machine']}", ""]
    learners = result.get("learners")
    if learners:
        lines += [
            f"## {learners['clients']} concurrent learners, {learners['seconds']} s per round, "
            f"TUTOR_ASK_WORKERS={learners['workers'] or 'auto'}",
            "",
            "| round | requests | req/s | codes | 5xx | healthz p50/p95 ms | ask JSON p50/p95 ms | "
            "ask SSE p50/p95 ms | RSS MB after |",
            "|---:|---:|---:|---|---:|---|---|---|---:|",
        ]
        for i, r in enumerate(learners["rounds"], 1):
            lat = r["latency_ms"]

            def pair(kind: str, lat: dict[str, Any] = lat) -> str:
                s = lat.get(kind) or {}
                return f"{s.get('p50')}/{s.get('p95')}"

            codes = ", ".join(f"{k}: {v}" for k, v in sorted(r["codes"].items()))
            lines.append(
                f"| {i} | {r['requests']} | {r['per_second']} | {codes} | {r['server_errors']} | {pair('healthz')} | "
                f"{pair('ask_json')} | {pair('ask_sse')} | {r['rss_mb_after']} |"
            )
        lines += ["", "299 = an SSE ask the client hung up on after its first token (on purpose).", ""]
    if result.get("llm"):
        lines += [
            "## LLM throughput against a fake OpenAI-compatible server (fixed seconds per answer)",
            "",
            "| TUTOR_LLM_CONCURRENCY | asks at once | wall s | answers/s | most LLM calls in flight | codes |",
            "|---:|---:|---:|---:|---:|---|",
        ]
        for r in result["llm"]:
            lines.append(
                f"| {r['concurrency']} | {r['asks']} | {r['wall_s']} | {r['answers_per_s']} | "
                f"{r['llm_most_in_flight']} | {r['codes']} |"
            )
    faults = result.get("faults")
    if faults:
        lines += [
            "",
            "## Faults",
            "",
            f"- Chroma server stopped: `/healthz` degraded after {faults['chroma_down_to_degraded_s']} s; an ask "
            f"then got {faults['ask_while_down']['status']} ({faults['ask_while_down']['detail'][:90]}…).",
            f"- Chroma server started again: the tutor was ready {faults['chroma_back_to_ready_s']} s after the "
            f"server answered ({faults['chroma_restart_total_s']} s from the restart command), with no tutor "
            f"restart; the next ask got {faults['ask_after_recovery_status']}.",
            f"- LLM endpoint down: answered in {faults['llm_down']['answer_ms']} ms, fallback "
            f"{faults['llm_down']['fallback']}, cited {faults['llm_down']['cited']}.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0, help="TUTOR_ASK_WORKERS for the server (0 = auto)")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 8])
    parser.add_argument("--llm-asks", type=int, default=8)
    parser.add_argument("--llm-delay", type=float, default=2.0)
    parser.add_argument("--skip", choices=["learners", "llm", "faults"], action="append", default=[])
    parser.add_argument("--out", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    result: dict[str, Any] = {"machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPUs"}
    with tempfile.TemporaryDirectory(prefix="tutor-load-") as tmp:
        if "learners" not in args.skip:
            result["learners"] = learners_scenario(args, Path(tmp) / "learners")
        if "llm" not in args.skip:
            result["llm"] = llm_scenario(args, Path(tmp) / "llm")
        if "faults" not in args.skip:
            result["faults"] = faults_scenario(args, Path(tmp) / "faults")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    report = markdown(result)
    args.out.with_suffix(".md").write_text(report, encoding="utf-8")
    print(report)
    medians = [r["latency_ms"].get("healthz", {}).get("p95") for r in result.get("learners", {}).get("rounds", [])]
    if medians:
        print(f"healthz p95 per round: {medians} ms; median {statistics.median([m or 0 for m in medians])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
