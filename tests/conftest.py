"""Shared fixtures: a small deterministic embedder for unit logic, the real models for end-to-end tests."""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tutor.settings import apply_offline_env
from tutor.store.embedder import Embedder

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED_CORPUS = REPO / "corpus" / "seeds"

apply_offline_env()


class HashingEmbedder(Embedder):
    """Bag-of-words vectors from hashed words: deterministic, instant, and similar texts stay similar."""

    def __init__(self, model_id: str = "fake-hashing", dimension: int = 64, max_tokens: int = 64) -> None:
        self.model_id = model_id
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.calls = 0
        self.embedded: list[str] = []

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text)) + 2

    def _encode(self, texts: list[str], batch_size: int, progress: bool) -> list[list[float]]:
        self.calls += 1
        self.embedded.extend(texts)
        out = []
        for text in texts:
            vec = [0.0] * self.dimension
            for word in re.findall(r"\w+", text.lower()):
                vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            out.append([v / norm for v in vec])
        return out


@pytest.fixture
def fake_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture(scope="session")
def real_embedder():
    """The bundled all-MiniLM-L6-v2, loaded once per test session."""
    from tutor.settings import default_embed_model
    from tutor.store.embedder import load_embedder

    return load_embedder(default_embed_model())


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    """A writable copy of the bundled seed lessons."""
    target = tmp_path / "corpus" / "seeds"
    shutil.copytree(SEED_CORPUS, target)
    return target


@pytest.fixture(scope="session")
def seed_tutor(tmp_path_factory):
    """The real tutor (MiniLM, Chroma, extractive backend) over the bundled seed lessons."""
    from tutor.pipeline import Tutor
    from tutor.settings import Settings

    home = tmp_path_factory.mktemp("seed-home")
    settings = Settings.from_env(env={}, home=home, corpus=(SEED_CORPUS,))
    tutor = Tutor.from_settings(settings)
    tutor.ingest()
    return tutor


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a server or CLI subprocess: offline, with the given overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTOR_")}
    env.update({"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "GRADIO_ANALYTICS_ENABLED": "False"})
    env.update(extra)
    return env


# --- a real `tutor serve` process (API + UI tests) ------------------------------------------------
class TutorServer:
    """A running `tutor serve` on 127.0.0.1: its base URL, data dir and log (for failure messages)."""

    def __init__(self, url: str, home: Path, corpus: Path, log_path: Path, process) -> None:
        self.url = url
        self.home = home
        self.corpus = corpus
        self.log_path = log_path
        self.process = process

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture(scope="session")
def tutor_server(tmp_path_factory) -> Iterator[TutorServer]:
    """`python -m tutor.cli serve` over a copy of the seed lessons, started once per session (~10-60 s)."""
    root = tmp_path_factory.mktemp("server")
    corpus = root / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    with serving(root, corpus) as server:
        yield server


@contextmanager
def serving(root: Path, corpus: Path, *args: str, **env: str) -> Iterator[TutorServer]:
    """A `tutor serve [args]` process over `corpus` with its data under `root/home`, until the block ends."""
    import subprocess
    import sys

    home = root / "home"
    port = free_port()
    log_path = root / "server.log"
    env = child_env(TUTOR_HOME=str(home), TUTOR_CORPUS=str(corpus), **env)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "tutor.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            cwd=REPO,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = TutorServer(f"http://127.0.0.1:{port}", home, corpus, log_path, process)
    with running(process, f"{server.url}/healthz", 180, server.log):
        yield server


@contextmanager
def running(process, health_url: str, timeout: float, log: Callable[[], str] = str) -> Iterator[None]:
    """Wait until a server process answers 200 on `health_url` and has nothing left loading in the background
    (status not "starting"), then stop it when the block ends."""
    import subprocess
    import time

    import httpx

    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}:\n{log()}")
            try:
                reply = httpx.get(health_url, timeout=2)
                if reply.status_code == 200 and reply.json().get("status") != "starting":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not healthy after {timeout:.0f} s:\n{log()}")
            time.sleep(0.5)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


MAIN_DEPENDENCIES = (
    "torch",
    "sentence-transformers",
    "transformers",
    "chromadb",
    "langchain-core",
    "gradio",
    "fastapi",
    "numpy",
    "llama-cpp-python",
    "playwright",
)


def pytest_report_header(config) -> list[str]:
    """The versions under test, first thing in every run (CI's log included), for diagnosing a red run."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in MAIN_DEPENDENCIES:
        try:
            found.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ["dependencies: " + ", ".join(found)]
