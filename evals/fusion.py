"""How the dense and BM25 rankings are best fused: retrieval only, every lesson in scope.

For each question the retriever's two rankings (30 deep, as the tutor fuses them) are fused by each
method (`scores`: standardised scores added, the tutor's default; `rank`: reciprocal rank fusion) with
the dense ranking weighted 1, 0.75 and 0.5, and the first lesson of each fused list is checked against
the question's gold lessons (Recall@1, MRR). A method that wins on one suite and loses on another is
tuned to that suite; the default has to hold on all of them.

    python -m evals.fusion seed mlfb learner squad2 --limit 800   # about 3 minutes on 2 cores
    python -m evals.fusion mlfb --catalog /tmp/tutor-catalog-XXXX  # mlfb with a catalog bench's lessons
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

from evals.datasets import SUITES, load_rows
from evals.metrics import dedupe, mean, reciprocal_rank
from evals.run import open_tutor
from tutor.retrieve.fusion import Ranking, fuse
from tutor.retrieve.hybrid import Scope
from tutor.settings import Settings, apply_offline_env

METHODS = ("scores", "rank")
DENSE_WEIGHTS = (1.0, 0.75, 0.5)
log = logging.getLogger("evals.fusion")


def fused_lessons(dense: Ranking, lexical: Ranking, method: str, dense_weight: float = 1.0) -> list[str]:
    """Lessons in the order of their best chunk after the retriever's fusion."""
    return dedupe(p.lesson_id for p in fuse([dense, lexical], (dense_weight, 1.0), method))


def measure(tutor, rows: list) -> dict:
    depth = tutor.retriever.candidates
    found: dict[str, list[tuple[bool, float]]] = {}
    for row in rows:
        dense, lexical = tutor.retriever.rankings(row.question, Scope(), depth)
        gains = {lesson: 1.0 for lesson in row.gold_lessons}
        for method in METHODS:
            for weight in DENSE_WEIGHTS:
                ranking = fused_lessons(dense, lexical, method, weight)
                hit = bool(ranking) and ranking[0] in gains
                found.setdefault(f"{method} {weight}", []).append((hit, reciprocal_rank(ranking, gains) or 0.0))
    return {
        "questions": len(rows),
        "depth": depth,
        **{
            variant: {"recall@1": round(mean([h for h, _ in hits]), 3), "mrr": round(mean([r for _, r in hits]), 3)}
            for variant, hits in found.items()
        },
    }


def catalog_tutor(work: Path):
    """A tutor over a catalog bench's work dir (its index, every lesson it served)."""
    from evals.bench_catalog import REPO, tutor_env
    from tutor.pipeline import Tutor

    roots = [work / "catalog", REPO / "corpus" / "seeds", REPO / "corpus" / "ml-for-beginners"]
    os.environ.update(tutor_env(work / "home", roots, "ask"))
    return Tutor.from_settings()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="+", choices=[name for name, s in SUITES.items() if s.kind == "qa"])
    parser.add_argument("--limit", type=int, default=None, help="only the first N answerable questions")
    parser.add_argument("--catalog", type=Path, help="a catalog bench's work dir: its lessons as the corpus")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    apply_offline_env()
    results = {}
    for name in args.suites:
        started = time.perf_counter()
        suite = SUITES[name]
        tutor = catalog_tutor(args.catalog) if args.catalog else open_tutor(suite, Settings.from_env())
        rows = [row for row in load_rows(suite.dataset) if row.answerable and row.gold_lessons][: args.limit]
        key = f"{name} (catalog)" if args.catalog else name
        results[key] = measure(tutor, rows)
        log.info("%s in %.0f s: %s", key, time.perf_counter() - started, json.dumps(results[key]))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
