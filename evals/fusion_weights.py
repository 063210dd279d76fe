"""How much dense retrieval should count in the fusion: retrieval only, every lesson in scope.

For each question the retriever's two rankings (dense and BM25, 30 deep, as the tutor fuses them) are
fused by reciprocal rank with the dense one weighted 1, 0.75 and 0.5, and the first lesson of each fused
list is checked against the question's gold lessons (Recall@1, MRR). The tutor fuses with equal weights;
this shows what another weight would win on one suite and lose on another.

    python -m evals.fusion_weights seed mlfb learner squad2   # about 4 minutes on 2 cores
    python -m evals.fusion_weights squad2 --limit 800
"""

from __future__ import annotations

import argparse
import json
import logging
import time

from evals.datasets import SUITES, load_rows
from evals.metrics import dedupe, mean, reciprocal_rank
from evals.run import open_tutor
from tutor.answer import Passage
from tutor.retrieve.hybrid import HybridRetriever, Scope
from tutor.settings import Settings, apply_offline_env

WEIGHTS = (1.0, 0.75, 0.5)
log = logging.getLogger("fusion_weights")


def fused_lessons(dense: list[Passage], lexical: list[Passage], dense_weight: float) -> list[str]:
    """Lessons in the order of their best chunk after the retriever's fusion, dense weighted `dense_weight`."""
    return dedupe(p.lesson_id for p in HybridRetriever._fuse([dense, lexical], (dense_weight, 1.0)))


def measure(suite_name: str, settings: Settings, limit: int | None) -> dict:
    suite = SUITES[suite_name]
    tutor = open_tutor(suite, settings)
    rows = [row for row in load_rows(suite.dataset) if row.answerable and row.gold_lessons][:limit]
    depth = tutor.retriever.candidates
    found: dict[float, list[tuple[bool, float]]] = {weight: [] for weight in WEIGHTS}
    for row in rows:
        dense, lexical = tutor.retriever.rankings(row.question, Scope(), depth)
        gains = {lesson: 1.0 for lesson in row.gold_lessons}
        for weight in WEIGHTS:
            ranking = fused_lessons(dense, lexical, weight)
            found[weight].append((bool(ranking) and ranking[0] in gains, reciprocal_rank(ranking, gains) or 0.0))
    return {
        "questions": len(rows),
        "depth": depth,
        **{
            str(weight): {
                "recall@1": round(mean([hit for hit, _ in results]), 3),
                "mrr": round(mean([rr for _, rr in results]), 3),
            }
            for weight, results in found.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="+", choices=[name for name, s in SUITES.items() if s.kind == "qa"])
    parser.add_argument("--limit", type=int, default=None, help="only the first N answerable questions")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    apply_offline_env()
    settings = Settings.from_env()
    results = {}
    for name in args.suites:
        started = time.perf_counter()
        results[name] = measure(name, settings, args.limit)
        log.info("%s in %.0f s: %s", name, time.perf_counter() - started, json.dumps(results[name]))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
