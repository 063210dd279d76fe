"""The headline metrics, named once: flat names, labels and which direction is better.

The console table, the HTML/Markdown report, the README table and `--check` thresholds all read this
list, so a metric is spelled the same everywhere and a threshold can never point at a number nobody shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Metric:
    """One headline number: `name` is the flat key (thresholds.toml), `path` where it sits in the summary."""

    name: str
    path: tuple[str, ...]
    label: str
    higher_is_better: bool = True
    percent: bool = True


HEADLINE: tuple[Metric, ...] = (
    Metric("recall_at_1", ("retrieval", "recall@1"), "lesson Recall@1 (all lessons)"),
    Metric("recall_at_5", ("retrieval", "recall@5"), "lesson Recall@5 (all lessons)"),
    Metric("mrr", ("retrieval", "mrr"), "MRR (all lessons)"),
    Metric("ndcg_at_10", ("retrieval", "ndcg@10"), "nDCG@10"),
    Metric("recall_at_100", ("retrieval", "recall@100"), "Recall@100"),
    Metric("context_recall", ("retrieval", "context_recall"), "key facts in retrieved passages"),
    Metric("refusal_precision", ("refusal", "precision"), "refusal precision"),
    Metric("refusal_recall", ("refusal", "recall"), "refusal recall"),
    Metric("refusal_f1", ("refusal", "f1"), "refusal F1"),
    Metric("false_refusal_rate", ("refusal", "false_refusal_rate"), "answerable refused", higher_is_better=False),
    Metric("citation_validity", ("grounding", "citation_validity"), "valid citations"),
    Metric("supported_rate", ("grounding", "supported_rate"), "supported sentences"),
    Metric("key_fact_recall", ("answer", "key_fact_recall"), "key-fact recall"),
    Metric("token_f1", ("answer", "token_f1"), "token F1 vs reference"),
    Metric("answer_accuracy", ("answer", "accuracy"), "overall accuracy (right answer or right refusal)"),
    Metric("latency_p50_ms", ("latency_ms", "p50"), "latency p50 (ms)", higher_is_better=False, percent=False),
    Metric("latency_p95_ms", ("latency_ms", "p95"), "latency p95 (ms)", higher_is_better=False, percent=False),
)
BY_NAME = {m.name: m for m in HEADLINE}


def value(summary: dict[str, Any] | None, metric: Metric) -> float | None:
    """The metric's value in a suite summary, None when absent or not applicable."""
    node: Any = summary or {}
    for key in metric.path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return None if node is None else float(node)


def flat(summary: dict[str, Any] | None) -> dict[str, float | None]:
    """Every headline metric of a summary by flat name."""
    return {m.name: value(summary, m) for m in HEADLINE}


def fmt(metric: Metric, number: float | None) -> str:
    """A value as shown to people: percentages with one decimal, milliseconds rounded, `—` when n/a."""
    if number is None:
        return "—"
    if metric.percent:
        return f"{number * 100:.1f}%"
    return f"{number:,.0f}"


def fmt_delta(metric: Metric, project: float | None, baseline: float | None) -> str:
    """Project minus baseline in the metric's unit (percentage points for rates)."""
    if project is None or baseline is None:
        return ""
    diff = project - baseline
    if metric.percent:
        return f"{diff * 100:+.1f} pp"
    return f"{diff:+,.0f}"


def better(metric: Metric, project: float | None, baseline: float | None, tolerance: float = 1e-9) -> int:
    """+1 when the project is better than the baseline on this metric, -1 when worse, 0 when equal or n/a."""
    if project is None or baseline is None or abs(project - baseline) <= tolerance:
        return 0
    up = project > baseline
    return 1 if up == metric.higher_is_better else -1


def shown(summaries: list[dict[str, Any] | None]) -> list[Metric]:
    """The headline metrics that apply to at least one of the summaries (a suite shows only its own)."""
    return [m for m in HEADLINE if any(value(s, m) is not None for s in summaries)]
