"""The catalog benchmark: thousands of real HTML lessons, ingested, served and asked on this machine.

Builds a catalog from Debian's documentation packages (python3.11-doc, postgresql-doc-15, sqlite3-doc:
about 2,460 HTML pages, fetched with `apt-get download` and unpacked with `dpkg -x`) plus the bundled
courses, then measures with the product's own commands:

- the embedding model's own speed (tokens/s) and what it implies for the catalog: the physical floor;
- a full `tutor ingest` (wall time, chunks/s, tokens/s, peak RSS), a no-op re-ingest, and a re-ingest
  after changing one lesson, with no server running and again through the running server;
- `tutor serve` start → ready (listening, asks accepted) and → warm (/healthz "ok": model, all-lessons BM25
  and chat UI loaded in the background) with the built index, and its RSS once asked;
- ask latency p50/p95 by stage over HTTP, lesson-scoped and catalog-wide (mlfb quiz questions); with
  `--sentence-vectors ask` the lesson-scoped questions are asked twice, since the first ask that reads a
  passage embeds its sentences, and the questions of other lessons are asked after opening their lesson
  (`POST /api/lessons/{id}/open`, as the widget does), with how long opening took;
- lesson Recall@1 of the mlfb suite with the whole catalog as distractors, for the tutor and for the naive
  LangChain pipeline (`evals.baseline.NaiveRAG`) indexed on the same catalog in the same run.

    python -m evals.bench_catalog                      # everything (about an hour on 2 cores)
    python -m evals.bench_catalog --limit 300 --no-naive   # a quick look at a slice of the catalog

Writes evals/results/catalog.json and catalog.png (the README's catalog table is generated from the JSON).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from evals.bench_server import ServerProcess, free_port

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "evals" / "results"
PACKAGES = ("python3.11-doc", "postgresql-doc-15", "sqlite3-doc")
TARGETS = {
    "full_ingest_s": 600,
    "noop_ingest_s": 5,
    "one_change_ingest_s": 5,
    "ready_s": 5,
    "ask_lesson_p50_ms": 150,
    "ask_lesson_opened_p50_ms": 150,
    "ask_catalog_p50_ms": 300,
    "server_rss_mb": 1536,
    "mlfb_recall_at_1": 0.80,
}
FULL_INGEST_FILE = "full_ingest.json"  # in the work dir: the full ingest of the run that built it
NAIVE_INGEST_FILE = "naive_ingest.json"  # likewise for the naive pipeline's index
log = logging.getLogger("bench_catalog")


def debian_pages(cache: Path) -> Path:
    """Download and unpack the documentation packages once; returns the unpacked tree."""
    tree = cache / "x"
    if (tree / "usr" / "share" / "doc").is_dir():
        return tree
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", *PACKAGES], cwd=debs, check=True, capture_output=True)
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(tree)], check=True)
    return tree


def build_catalog(tree: Path, out: Path, limit: int | None) -> list[Path]:
    """Copy every real (non-symlinked) HTML page into one folder per package, named by its path so ids are
    unique; returns the lesson roots (the catalog and the bundled courses)."""
    if out.exists():
        shutil.rmtree(out)
    pages = []
    for top, dirs, files in os.walk(tree / "usr" / "share" / "doc"):
        dirs.sort()
        for name in sorted(files):
            path = Path(top) / name
            if name.endswith(".html") and not path.is_symlink():
                pages.append(path)
    for path in pages[:limit] if limit else pages:
        rel = path.relative_to(tree / "usr" / "share" / "doc")
        package = rel.parts[0]
        target = out / package / "-".join(rel.parts[1:]).replace("html-", "", 1)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return [out, REPO / "corpus" / "seeds", REPO / "corpus" / "ml-for-beginners"]


def tutor_env(home: Path, roots: list[Path], sentence_vectors: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTOR_")}
    env.update(
        TUTOR_HOME=str(home),
        TUTOR_CORPUS=os.pathsep.join(map(str, roots)),
        TUTOR_SENTENCE_VECTORS=sentence_vectors,
        HF_HUB_OFFLINE="1",
    )
    return env


def timed_ingest(env: dict[str, str]) -> dict[str, Any]:
    """`tutor ingest --json` as a user runs it: wall time, its report and the child's peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tutor.cli", "ingest", "--json"], env=env, capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "seconds": round(seconds, 2),
        "lessons": report["lessons"],
        "chunks": report["chunks"],
        "embedded": report["embedded"],
        "errors": len(report["errors"]),
        "peak_rss_mb": round(peak / 1024, 1) if peak > before else None,
    }


def saved_full_ingest(work: Path) -> dict[str, Any] | None:
    """The full ingest as measured by the run that built this work dir's index (a `--reuse` run reports it
    beside its own figures, marked as such), or None when that run did not record it."""
    path = work / FULL_INGEST_FILE
    if not path.exists():
        return None
    return {**json.loads(path.read_text()), "reused": str(work), "measured_by": "the run that built this index"}


def model_speed(env: dict[str, str]) -> dict[str, Any]:
    """The embedding model alone on the catalog's own chunks: tokens/s, and every indexed token's cost."""
    os.environ.update(env)
    from tutor.ingest.index import embedding_text
    from tutor.settings import Settings
    from tutor.store.chroma import open_store

    settings = Settings.from_env()
    store = open_store(settings)
    embedder = store.embedder
    passages = store.passages()
    rows = [passage.text for passage in passages]
    tokens = sum(embedder.count_tokens(text) for text in rows)
    # what ingest actually embeds: each chunk under its title and section (embedding_text)
    embedded = sum(
        embedder.count_tokens(embedding_text(_chunk(passage), embedder.count_tokens, embedder.max_tokens))
        for passage in passages
    )
    sample = rows[:: max(1, len(rows) // 512)][:512]
    sample_tokens = sum(embedder.count_tokens(t) for t in sample)
    embedder.embed_batch(sample[:32], settings.embed_batch)  # warm up
    t = time.perf_counter()
    embedder.embed_batch(sample, settings.embed_batch)
    rate = sample_tokens / (time.perf_counter() - t)
    return {
        "backend": type(embedder).__name__,
        "precision": embedder.precision,
        "batch": settings.embed_batch or embedder.preferred_batch,
        "chunk_tokens": tokens,
        "embedded_tokens": embedded,
        "tokens_per_s": round(rate),
        "floor_s": round(tokens / rate, 1),
        "embedded_floor_s": round(embedded / rate, 1),
    }


def _chunk(passage: Any) -> Any:
    """A stored passage as the chunker's `Chunk` (what `embedding_text` reads)."""
    from tutor.ingest.chunking import Chunk

    p = passage
    return Chunk(p.chunk_id, p.lesson_id, p.course, p.title, p.section, 0, p.start, p.end, p.text)


def forget_asked_sentences(env: dict[str, str]) -> None:
    """Drop the sentence vectors that asks and lesson opens stored (with sentence vectors embedded at ask
    time, ingest stores none), so a `--reuse` run measures first asks as the first run did."""
    os.environ.update(env)
    from tutor.settings import Settings
    from tutor.store.chroma import open_store

    rows = open_store(Settings.from_env(), lazy=True).sentence_rows
    ids = rows.get(include=[])["ids"]
    for start in range(0, len(ids), 5000):
        rows.delete(ids=ids[start : start + 5000])
    log.info("dropped %d sentence vectors stored by the earlier run's asks", len(ids))


def wait_warm(url: str, started: float, timeout: float = 300) -> float:
    """Seconds from process start until /healthz says "ok" (nothing left loading in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(url + "/healthz", timeout=30).json().get("status") == "ok":
            return time.perf_counter() - started
        time.sleep(0.05)
    raise TimeoutError("the server did not finish warming up")


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "n": len(ordered),
    }


def ask_latencies(url: str, questions: list[dict], scoped: bool, open_first: bool = False) -> dict[str, Any]:
    """Ask p50/p95 over HTTP, in total and by stage. With `open_first` each question's lesson is opened first
    (`POST /api/lessons/{id}/open`, what the widget does when a learner opens the tutor), and how long that
    preparation took is reported beside the asks."""
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    opening: dict[str, dict] = {}
    with httpx.Client(base_url=url, timeout=120) as client:
        for row in questions:
            if open_first:
                opened = client.post(f"/api/lessons/{row['lesson_id']}/open")
                opened.raise_for_status()
                opening.setdefault(row["lesson_id"], opened.json())  # later questions get the same preparation
            body = {"question": row["question"], **({"lesson_id": row["lesson_id"]} if scoped else {})}
            t = time.perf_counter()
            response = client.post("/api/ask", json=body)
            totals.append((time.perf_counter() - t) * 1000)
            response.raise_for_status()
            for stage, ms in (response.json().get("timings_ms") or {}).items():
                stages.setdefault(stage, []).append(ms)
    result = {
        "total": percentiles(totals),
        "stages": {stage: percentiles(values) for stage, values in stages.items()},
    }
    if opening:
        result["opening_ms"] = {
            **percentiles([o["seconds"] * 1000 for o in opening.values()]),
            "sentences_embedded": sum(o["sentences_embedded"] for o in opening.values()),
        }
    return result


def recall_at_1(
    env: dict[str, str], questions: list[dict], naive: bool, home: Path, reused: bool = False
) -> dict[str, Any]:
    """Lesson Recall@1 with no lesson given (does the top passage come from the quiz question's lesson?) and
    the catalog-wide search time per question, for the tutor and for the naive pipeline in the same process.
    The naive pipeline's ingest time is saved in `home` by the run that indexes it; a `reused` run, which
    finds that index current, reports the saved time."""
    os.environ.update(env)
    from tutor.pipeline import Tutor
    from tutor.retrieve.hybrid import Scope

    tutor = Tutor.from_settings()
    gold = [(q["question"], set(q["gold_lessons"])) for q in questions]
    tutor.retriever.retrieve(gold[0][0], Scope(), k=1)  # the all-lessons BM25 is built once, as the server does

    def measure(search) -> tuple[float, dict[str, float]]:
        hits, times = 0, []
        for question, lessons in gold:
            t = time.perf_counter()
            top = search(question)
            times.append((time.perf_counter() - t) * 1000)
            hits += bool(top) and top[0].lesson_id in lessons
        return round(hits / len(gold), 3), percentiles(times)

    recall, search_ms = measure(lambda q: tutor.retriever.retrieve(q, Scope(), k=1))
    result: dict[str, Any] = {"tutor": recall, "questions": len(gold), "tutor_search_ms": search_ms}
    if naive:
        from evals.baseline import NaiveRAG

        baseline = NaiveRAG(tutor, home)
        t = time.perf_counter()
        result["naive_chunks"] = baseline.build()
        result["naive_ingest_s"] = round(time.perf_counter() - t, 1)
        saved = home / NAIVE_INGEST_FILE
        if not reused:
            saved.write_text(json.dumps({"seconds": result["naive_ingest_s"], "chunks": result["naive_chunks"]}))
        elif saved.exists():
            result["naive_ingest_s"] = json.loads(saved.read_text())["seconds"]
            result["naive_ingest_measured_by"] = "the run that built this index"
        result["naive"], result["naive_search_ms"] = measure(lambda q: baseline.search(q, 1))
    return result


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = {k: v for k, v in result["targets"].items() if v["measured"] is not None}
    fig, ax = plt.subplots(figsize=(8, 4))
    names = list(measured)
    ratios = [
        m["target"] / m["measured"] if n == "mlfb_recall_at_1" else m["measured"] / m["target"]
        for n, m in measured.items()
    ]
    ax.barh(names, ratios, color=["tab:green" if m["met"] else "tab:red" for m in measured.values()])
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xlabel("measured / target (recall: target / measured); left of the line is met")
    ax.set_title(f"Catalog of {result['catalog']['lessons']} lessons on {result['machine']['cpus']} CPUs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "tutor-catalog-debs")
    parser.add_argument("--limit", type=int, default=None, help="only the first N HTML pages (a quick look)")
    parser.add_argument("--questions", type=int, default=40, help="mlfb questions asked over HTTP per scope")
    parser.add_argument("--sentence-vectors", choices=("ingest", "ask"), default="ask")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive pipeline's own index")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--reuse",
        type=Path,
        help="the work dir of an earlier run (its catalog and index): everything but the full ingest again",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    if args.reuse:
        work = args.reuse
        roots = [work / "catalog", REPO / "corpus" / "seeds", REPO / "corpus" / "ml-for-beginners"]
    else:
        work = Path(tempfile.mkdtemp(prefix="tutor-catalog-"))
        roots = build_catalog(debian_pages(args.cache), work / "catalog", args.limit)
    log.info("work dir %s", work)
    env = tutor_env(work / "home", roots, args.sentence_vectors)
    suite = [json.loads(line) for line in (REPO / "evals" / "datasets" / "mlfb.jsonl").read_text().splitlines()]
    answerable = [q for q in suite if q.get("answerable") and q.get("gold_lessons")]

    log.info("full ingest of %s", roots)
    full = timed_ingest(env)  # with --reuse: whatever changed since (nothing), not a full ingest
    if args.reuse:
        full = saved_full_ingest(work) or {**full, "seconds": None, "reused": str(args.reuse)}
    else:
        (work / FULL_INGEST_FILE).write_text(json.dumps(full) + "\n")
    noop = timed_ingest(env)
    victims = sorted((work / "catalog").rglob("*.html"))[:2]
    originals = {path: path.read_text(encoding="utf-8") for path in victims}
    victim = victims[0]
    victim.write_text(victim.read_text(encoding="utf-8").replace("</body>", "<p>One new sentence.</p></body>"))
    changed = timed_ingest(env)
    speed = model_speed(env)

    if args.reuse and args.sentence_vectors == "ask":
        forget_asked_sentences(env)  # the earlier run's asks stored them: first asks must be first again
    log.info("serving")
    server = ServerProcess(
        work / "home",
        roots,
        free_port(),
        extra_env={"TUTOR_SENTENCE_VECTORS": args.sentence_vectors, "TUTOR_RATE_LIMIT": "0"},
    )
    try:
        ready = server.wait_ready()
        warm = wait_warm(server.url, server.started)
        picked = answerable[: args.questions]
        lesson_scope = ask_latencies(server.url, picked, scoped=True)
        # Lessons no question above touched: each opened first, as a learner opening the tutor does.
        touched = {row["lesson_id"] for row in picked}
        unread = [row for row in answerable if row["lesson_id"] not in touched][: args.questions]
        lesson_opened = ask_latencies(server.url, unread, scoped=True, open_first=True) if unread else None
        lesson_again = ask_latencies(server.url, picked, scoped=True) if args.sentence_vectors == "ask" else None
        catalog_scope = ask_latencies(server.url, picked, scoped=False)
        rss = server.rss_mb()
        # One more changed lesson with the server running: `tutor ingest` has the server re-index it.
        victim = victims[1]
        victim.write_text(victim.read_text(encoding="utf-8").replace("</body>", "<p>Another sentence.</p></body>"))
        served_change = timed_ingest(env)
    finally:
        server.stop()
    # The catalog as it was, so a later `--reuse` run finds the naive pipeline's index still current.
    for path, text in originals.items():
        path.write_text(text, encoding="utf-8")
    timed_ingest(env)
    log.info("recall")
    recall = recall_at_1(env, answerable, naive=not args.no_naive, home=work, reused=bool(args.reuse))

    measured = {
        "full_ingest_s": full["seconds"],
        "noop_ingest_s": noop["seconds"],
        "one_change_ingest_s": changed["seconds"],
        "ready_s": round(ready, 2),
        "ask_lesson_p50_ms": lesson_scope["total"]["p50"],
        "ask_lesson_opened_p50_ms": lesson_opened["total"]["p50"] if lesson_opened else None,
        "ask_catalog_p50_ms": catalog_scope["total"]["p50"],
        "server_rss_mb": rss,
        "mlfb_recall_at_1": recall["tutor"],
    }
    targets = {
        name: {
            "target": target,
            "measured": measured[name],
            "met": None
            if measured[name] is None
            else measured[name] >= target
            if name == "mlfb_recall_at_1"
            else measured[name] <= target,
        }
        for name, target in TARGETS.items()
    }
    result = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "catalog": {
            "html_pages": len(list((work / "catalog").rglob("*.html"))),
            "lessons": full["lessons"],
            "chunks": full["chunks"],
            "limit": args.limit,
            "sentence_vectors": args.sentence_vectors,
        },
        "full_ingest": {
            **full,
            "chunks_per_s": round(full["embedded"] / full["seconds"], 1) if full["seconds"] else None,
            "tokens_per_s": round(speed["chunk_tokens"] / full["seconds"]) if full["seconds"] else None,
        },
        "noop_ingest": noop,
        "one_change_ingest": changed,
        "one_change_ingest_serving": served_change,
        "model": speed,
        "server": {"ready_s": round(ready, 2), "warm_s": round(warm, 2), "rss_mb": rss},
        "ask_lesson": lesson_scope,
        "ask_lesson_again": lesson_again,
        "ask_lesson_opened": lesson_opened,
        "ask_catalog": catalog_scope,
        "recall_at_1": recall,
        "targets": targets,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    name = "catalog" if not args.limit else f"catalog-{args.limit}"
    (args.results / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.results / f"{name}.png")
    print(json.dumps(targets, indent=2))
    log.info("the catalog and its indexes stay in %s (rerun with --reuse %s; delete it when done)", work, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
