"""The README's results table, rendered from the saved runs in `evals/results/<suite>.json`.

Numbers in a README go stale the moment someone edits the pipeline; generating the table from the files
`tutor eval` writes (via `python -m evals.update_readme`) keeps the README honest about what was measured.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from evals.headline import BY_NAME, fmt, value
from evals.scoring import RESTATED

log = logging.getLogger(__name__)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SUITE_ORDER = ("seed", "mlfb", "learner", "squad2", "scifact")
COLUMNS = (
    ("recall_at_1", "R@1"),
    ("recall_at_5", "R@5"),
    ("mrr", "MRR"),
    ("ndcg_at_10", "nDCG@10"),
    ("recall_at_100", "R@100"),
    ("refusal_f1", "refusal F1"),
    ("false_refusal_rate", "answerable refused"),
    ("citation_validity", "valid citations"),
    ("supported_rate", "supported sentences"),
    ("key_fact_recall", "key-fact recall"),
    ("restated", "restated"),
    ("answer_accuracy", "accuracy"),
    ("latency_p50_ms", "p50 ms"),
    ("latency_p95_ms", "p95 ms"),
)


METRICS = {**BY_NAME, RESTATED.name: RESTATED}


def load_results(results_dir: Path | None = None) -> list[dict[str, Any]]:
    """Saved suite results, shipped suites first; other JSON files there (e.g. calibration output) are skipped."""
    results = []
    for path in sorted((results_dir or RESULTS_DIR).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("skipping %s: %s", path, exc)
            continue
        if isinstance(data, dict) and "suite" in data and "retrieval" in data:
            results.append(data)
    order = {name: i for i, name in enumerate(SUITE_ORDER)}
    return sorted(results, key=lambda r: (order.get(r["suite"], len(order)), r["suite"]))


def results_markdown(results_dir: Path | None = None) -> str:
    """A Markdown table: one row per suite and system (project, naive RAG baseline), `—` where n/a."""
    results = load_results(results_dir)
    if not results:
        return "_No eval results yet: run `tutor eval --suite seed --baseline naive` (see `evals/README.md`)._"
    header = "| suite | system | n | " + " | ".join(label for _, label in COLUMNS) + " |"
    lines = [header, "|---|---|---:|" + "---:|" * len(COLUMNS)]
    for result in results:
        systems = [("tutor", result)]
        if result.get("baseline"):
            systems.append(("naive RAG", result["baseline"]))
        for name, summary in systems:
            cells = [fmt(METRICS[key], value(summary, METRICS[key])) for key, _ in COLUMNS]
            lines.append(
                f"| {result['suite']} | {name} | {summary.get('n', result.get('n'))} | " + " | ".join(cells) + " |"
            )
    notes = _notes(results)
    return "\n".join(lines + ([""] + notes if notes else []))


def _notes(results: list[dict[str, Any]]) -> list[str]:
    """Where and how the numbers were measured, plus retriever variants of retrieval-only suites."""
    notes = []
    for result in results:
        meta = result.get("meta") or {}
        for name, variant in (result.get("variants") or {}).items():
            if name != "hybrid":
                ndcg = fmt(BY_NAME["ndcg_at_10"], variant.get("ndcg@10"))
                recall = fmt(BY_NAME["recall_at_100"], variant.get("recall@100"))
                notes.append(f"- {result['suite']} {name}: nDCG@10 {ndcg}, R@100 {recall}")
        if result.get("variants"):
            notes.append(f"- {result['suite']}: retrieval only; latency is one retrieval of depth 300")
        if result.get("reference_ndcg@10"):
            refs = ", ".join(f"{k} {v * 100:.1f}%" for k, v in result["reference_ndcg@10"].items())
            notes.append(f"- {result['suite']} published nDCG@10: {refs}")
        if meta.get("finished"):
            notes.append(
                f"- {result['suite']}: {meta.get('finished', '')[:10]}, backend `{meta.get('llm')}`, "
                f"{meta.get('seconds', 0):.0f}s on {meta.get('machine', '?')}"
            )
    if notes:
        notes.insert(
            0,
            "Retrieval is over all lessons (lesson Recall@k); refusal F1 has refused as the positive "
            "class. Generated from `evals/results/*.json` by `python -m evals.update_readme`.",
        )
    return notes
