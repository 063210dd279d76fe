"""The plain-text result table `tutor eval` prints without `--json`: project vs baseline, with deltas."""

from __future__ import annotations

from typing import Any

from evals.headline import BY_NAME, better, fmt, fmt_delta, shown, value


def format_table(result: dict[str, Any]) -> str:
    """Headline metrics, one per line; a `+`/`-` mark says whether the project beats the baseline."""
    base = result.get("baseline")
    metrics = shown([result, base])
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
    categories = result.get("categories") or {}
    if categories:
        lines += ["", "by category (refused / key-fact recall):"]
        base_categories = (base or {}).get("categories") or {}
        for name, cat in categories.items():
            line = f"  {name:14} n={cat['n']:<5} refused {cat['refused_rate'] * 100:5.1f}%"
            if cat.get("key_fact_recall") is not None:
                line += f"  facts {cat['key_fact_recall'] * 100:5.1f}%"
            if name in base_categories:
                line += f"   | naive refused {base_categories[name]['refused_rate'] * 100:5.1f}%"
            lines.append(line)
    meta = result.get("meta") or {}
    if meta.get("seconds") is not None:
        lines += ["", f"{meta['seconds']:.0f}s, llm={meta.get('llm')}, embed={meta.get('embed_model')}"]
    return "\n".join(lines)


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return [line(header), "  ".join("-" * w for w in widths), *[line(r) for r in rows]]
