"""The plain-text result table `tutor eval` prints without `--json`: project vs baseline, with deltas."""

from __future__ import annotations

from typing import Any

from evals.headline import BY_NAME, better, fmt, fmt_delta, value
from evals.scoring import category_comparison, reported_metrics


def format_table(result: dict[str, Any]) -> str:
    """Headline metrics, one per line; a `+`/`-` mark says whether the project beats the baseline."""
    base = result.get("baseline")
    metrics = reported_metrics([result, base])
    title = f"suite {result['suite']}: {result['n']} questions"
    if result.get("answerable") is not None:
        title += f" ({result['answerable']} answerable, {result['unanswerable']} unanswerable)"
    header = ["metric", "project"] + (["naive RAG", "delta"] if base else [])
    rows = []
    for m in metrics:
        mine, theirs = value(result, m), value(base, m)
        row = [m.label, fmt(m, mine)]
        if base:
            mark = {1: " +", -1: " -", 0: ""}[better(m, mine, theirs)]
            row += [fmt(m, theirs), fmt_delta(m, mine, theirs) + mark]
        rows.append(row)
    lines = [title, ""] + _grid(header, rows)
    for name, variant in (result.get("variants") or {}).items():
        if name == "hybrid":
            continue
        pct = BY_NAME["ndcg_at_10"]
        lines.append(
            f"  {name}: nDCG@10 {fmt(pct, variant.get('ndcg@10'))}, Recall@100 {fmt(pct, variant.get('recall@100'))}"
        )
    if result.get("categories"):
        lines += [
            "",
            "by category (refused = share refused; facts = key-fact recall, refusals count as misses;",
            "restated = answered answerable rows that only restate the question):",
            "",
        ]
        lines += _grid(*category_grid(result))
    meta = result.get("meta") or {}
    if meta.get("seconds") is not None:
        lines += ["", f"{meta['seconds']:.0f}s, llm={meta.get('llm')}, embed={meta.get('embed_model')}"]
    return "\n".join(lines)


CATEGORY_LABELS = {"refused_rate": "refused", "key_fact_recall": "facts", "restated": "restated"}


def category_grid(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the per-category table (shared with the report): each metric for the project,
    then the naive baseline's beside it when the run had one."""
    categories = category_comparison(result)
    with_baseline = any(c["baseline"] is not None for c in categories)
    header = ["category", "n"]
    for label in CATEGORY_LABELS.values():
        header += [label] + ([f"{label} naive"] if with_baseline else [])
    rows = []
    for cat in categories:
        row = [cat["category"], str(cat["n"])]
        for column in CATEGORY_LABELS:
            row.append(_pct(cat["project"][column]))
            if with_baseline:
                row.append(_pct((cat["baseline"] or {}).get(column)))
        rows.append(row)
    return header, rows


def _pct(number: float | None) -> str:
    return "—" if number is None else f"{number * 100:.1f}%"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return [line(header), "  ".join("-" * w for w in widths), *[line(r) for r in rows]]
