"""SciFact, retrieval only: the tutor's retriever on 5,183 abstracts, scored like BEIR (nDCG@10, Recall@100).

The abstracts become ordinary lesson files (front matter `id` = the BEIR doc id) in a cache dir and go
through `tutor.ingest`, and the claims are asked through `tutor.retriever.retrieve(query, Scope(), k)`,
so the number is the retriever a learner gets, comparable with the published BM25 (0.665) and
all-MiniLM-L6-v2 (~0.645) nDCG@10. Chunk rankings become document rankings by first appearance.
"""

from __future__ import annotations

import gzip
import json
import logging
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.datasets import Suite
from evals.metrics import dedupe, mean, ndcg_at_k, percentile, recall_at_k, reciprocal_rank
from tutor.retrieve.hybrid import Scope

log = logging.getLogger(__name__)

DEPTH = 100  # documents scored per query (BEIR's Recall@100)
CHUNK_DEPTH = 300  # chunks fetched to fill DEPTH documents when an abstract has several chunks
REFERENCE = {"BM25 (BEIR)": 0.665, "all-MiniLM-L6-v2 (dense)": 0.645}


def write_lessons(corpus_gz: Path, out_dir: Path) -> int:
    """One lesson file per abstract (title + text), rewritten only when missing, so re-runs cost nothing."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    with gzip.open(corpus_gz, "rt", encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            path = out_dir / f"{doc['_id']}.md"
            if path.exists():
                continue
            title = (doc.get("title") or "").strip()
            body = f"{title}\n\n{doc.get('text') or ''}".strip()
            front = (
                f"---\nid: {json.dumps(str(doc['_id']))}\ntitle: {json.dumps(title or doc['_id'])}\n"
                f'course: "SciFact"\nsource: "scifact/{doc["_id"]}"\n---\n'
            )
            path.write_text(front + body + "\n", encoding="utf-8")
            written += 1
    return written


def load_qrels(path: Path) -> dict[str, dict[str, float]]:
    """query id → {doc id: relevance} from a BEIR qrels TSV (header row skipped)."""
    qrels: dict[str, dict[str, float]] = defaultdict(dict)
    with path.open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            if line.strip():
                qid, did, score = line.rstrip("\n").split("\t")
                qrels[qid][did] = float(score)
    return dict(qrels)


def load_queries(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [(str(q["_id"]), q["text"]) for q in map(json.loads, handle) if q.get("text")]


def run_scifact(
    suite: Suite, settings: Any, limit: int | None, progress: bool, open_tutor: Callable[[Suite, Any], Any]
) -> dict[str, Any]:
    """Index the abstracts, rank every judged claim with each retriever variant, and score them."""
    from dataclasses import replace

    from tqdm.auto import tqdm

    root = suite.dataset.parent
    lesson_dir = suite.data_dir(settings.home) / "lessons"
    written = write_lessons(root / "corpus.jsonl.gz", lesson_dir)
    log.info("scifact: %d abstract files written to %s", written, lesson_dir)
    tutor = open_tutor(replace(suite, corpus=(lesson_dir,)), settings)
    qrels = load_qrels(root / "qrels.tsv")
    queries = [q for q in load_queries(suite.dataset) if q[0] in qrels][:limit]

    retriever = tutor.retriever
    default_depth = retriever.candidates
    own_fusion = retriever.fusion  # the other fusion method is scored beside it
    other_fusion = "rank" if own_fusion == "scores" else "scores"
    bm25 = _Bm25(tutor)
    variants: dict[str, list[dict[str, Any]]] = defaultdict(list)
    latencies: list[float] = []
    records = []
    for qid, text in tqdm(queries, desc="eval scifact", unit="q", disable=not progress, file=sys.stderr):
        gains = qrels[qid]
        retriever.candidates = default_depth
        default = dedupe(p.lesson_id for p in retriever.retrieve(text, Scope(), k=CHUNK_DEPTH))
        retriever.candidates = CHUNK_DEPTH
        t = time.perf_counter()
        hybrid = dedupe(p.lesson_id for p in retriever.retrieve(text, Scope(), k=CHUNK_DEPTH))[:DEPTH]
        latencies.append((time.perf_counter() - t) * 1000)
        retriever.fusion = other_fusion
        with_other_fusion = dedupe(p.lesson_id for p in retriever.retrieve(text, Scope(), k=CHUNK_DEPTH))[:DEPTH]
        retriever.fusion = own_fusion
        dense = dedupe(p.lesson_id for p in tutor.store.search(tutor.store.embedder.embed_query(text), CHUNK_DEPTH))
        rankings = {
            "hybrid": hybrid,
            f"hybrid (default depth {default_depth})": default,
            f"hybrid, {other_fusion} fusion": with_other_fusion,
            "dense only": dense[:DEPTH],
            "bm25 only": bm25.rank(text)[:DEPTH],
        }
        for name, ranking in rankings.items():
            variants[name].append(_scores(ranking, gains))
        records.append(
            {"id": qid, "question": text, "gold": gains, "retrieved": hybrid[:10], "metrics": variants["hybrid"][-1]}
        )
    retriever.candidates = default_depth
    summary = {name: _mean_scores(rows) for name, rows in variants.items()}
    return {
        "suite": suite.name,
        "n": len(queries),
        "retrieval": {"scope": f"all {len(tutor.lessons())} abstracts", **summary["hybrid"]},
        "refusal": {"precision": None, "recall": None, "f1": None},
        "grounding": {"citation_validity": None, "supported_rate": None},
        "answer": {"key_fact_recall": None},
        "latency_ms": {
            "p50": _round(percentile(latencies, 50)),
            "p95": _round(percentile(latencies, 95)),
            "stages": {
                "retrieve": {"p50": _round(percentile(latencies, 50)), "p95": _round(percentile(latencies, 95))}
            },
        },
        "variants": summary,
        "reference_ndcg@10": REFERENCE,
        "baseline": None,
        "errors": 0,
        "records": {"project": records},
    }


def _scores(ranking: list[str], gains: dict[str, float]) -> dict[str, float | None]:
    return {
        "ndcg@10": ndcg_at_k(ranking, gains, 10),
        "recall@100": recall_at_k(ranking, gains, 100),
        "recall@1": recall_at_k(ranking, gains, 1),
        "recall@5": recall_at_k(ranking, gains, 5),
        "mrr": reciprocal_rank(ranking, gains),
    }


def _mean_scores(rows: list[dict[str, float | None]]) -> dict[str, float | None]:
    return {key: mean(r[key] for r in rows) for key in rows[0]} if rows else {}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class _Bm25:
    """BM25 alone over the same chunks and index (`tutor.retrieve.lexical`) the hybrid retriever uses."""

    def __init__(self, tutor: Any) -> None:
        from tutor.retrieve.lexical import LexicalIndex

        self.index = LexicalIndex(tutor.store.passages())

    def rank(self, question: str) -> list[str]:
        return dedupe(p.lesson_id for p in self.index.search(question, CHUNK_DEPTH).passages)
