"""Answer latency per backend on the bundled seed lessons, measured in one process.

`python -m evals.bench_backends` indexes the seed lessons in a temporary data dir, then asks the same
questions through the extractive backend, the in-process llama.cpp backend and the `openai` backend against a
local `llama_cpp.server` (both with the bundled SmolLM2-135M), and writes medians to
`evals/results/backends.json`. Only loopback traffic; the server is stopped at the end.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tutor.pipeline import Tutor
from tutor.settings import Settings, apply_offline_env, bundled_corpus, default_gguf_model

RESULTS = Path(__file__).resolve().parent / "results" / "backends.json"
QUESTIONS = [
    ("When should I fine-tune instead of prompting?", "when-to-fine-tune-vs-when-to-just-prompt-a-decision"),
    ("What does fine-tuning amplify?", "when-to-fine-tune-vs-when-to-just-prompt-a-decision"),
    ("Why is RAG better than fine-tuning for facts?", "fine-tuning-vs-prompting"),
    ("What does RAG change?", "fine-tuning-vs-prompting-honestly"),
    ("What is the rule of thumb?", "fine-tuning-vs-prompting-when-to-use-which"),
]


def measure(tutor: Tutor, rounds: int = 2) -> dict:
    totals, answered, first_piece = [], 0, []
    for _ in range(rounds):
        for question, lesson in QUESTIONS:
            start = time.perf_counter()
            first = None
            for piece in tutor.stream(question, lesson_id=lesson):
                if first is None and isinstance(piece, str):
                    first = time.perf_counter() - start
                if not isinstance(piece, str):
                    answer = piece
            totals.append((time.perf_counter() - start) * 1000)
            first_piece.append((first or 0.0) * 1000)
            answered += not answer.refused
    return {
        "median_ms": round(statistics.median(totals), 1),
        "first_piece_median_ms": round(statistics.median(first_piece), 1),
        "answered": answered,
        "asked": len(totals),
        "backend_used": answer.backend,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    apply_offline_env()
    home = Path(tempfile.mkdtemp(prefix="tutor-bench-"))
    settings = Settings.from_env(home=home, corpus=(bundled_corpus() / "seeds",))
    tutor = Tutor.from_settings(settings)
    tutor.ingest()
    results = {"extractive": measure(tutor)}
    gguf = default_gguf_model()
    if gguf:
        from tutor.generate.llamacpp import LlamaCppBackend
        from tutor.generate.openai import OpenAIBackend

        def swap(backend) -> Tutor:
            return Tutor(tutor.store, tutor.retriever, tutor.scorer, tutor.gate, backend, tutor.support, settings)

        results["llamacpp"] = measure(swap(LlamaCppBackend(gguf)))
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                gguf,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "4096",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/v1"
            for _ in range(240):
                try:
                    httpx.get(f"{url}/models", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.5)
            results["openai (llama_cpp.server)"] = measure(swap(OpenAIBackend(url, "smollm2", "local")))
        finally:
            server.terminate()
            server.wait(timeout=30)
    results["model"] = Path(gguf).name if gguf else None
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
