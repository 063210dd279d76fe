"""The report's charts as PNG bytes (matplotlib, Agg backend: no display, same output on any machine).

Each function returns bytes rather than writing files, so the HTML report can embed them as base64 and
the Markdown report can save them beside itself from the same call.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from evals.headline import HEADLINE, value  # noqa: E402

PROJECT_COLOR = "#2f6fdf"
BASELINE_COLOR = "#b0b7c3"
STAGE_ORDER = ("retrieve", "answer", "verify", "total")


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _style(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def metrics_bars(project: dict[str, Any], baseline: dict[str, Any] | None) -> bytes:
    """Grouped bars of every rate-type headline metric, project beside baseline."""
    metrics = [
        m
        for m in HEADLINE
        if m.percent and m.higher_is_better and (value(project, m) is not None or value(baseline, m) is not None)
    ]
    labels = [m.label.replace(" (all lessons)", "") for m in metrics]
    mine = [(value(project, m) or 0.0) * 100 for m in metrics]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(metrics) + 2), 4.2))
    width = 0.38 if baseline else 0.6
    xs = range(len(metrics))
    ax.bar([x - (width / 2 if baseline else 0) for x in xs], mine, width, label="project", color=PROJECT_COLOR)
    if baseline:
        theirs = [(value(baseline, m) or 0.0) * 100 for m in metrics]
        ax.bar([x + width / 2 for x in xs], theirs, width, label="naive RAG", color=BASELINE_COLOR)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=9)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.set_title("Metrics, higher is better: project vs naive RAG" if baseline else "Metrics, higher is better")
    ax.legend(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.06), ncol=2, fontsize=9)
    _style(ax)
    return _png(fig)


def confusion(summaries: Sequence[tuple[str, dict[str, Any]]]) -> bytes:
    """Refusal confusion matrices side by side (rows: should refuse / should answer; columns: what it did)."""
    fig, axes = plt.subplots(1, len(summaries), figsize=(4.4 * len(summaries), 3.6), squeeze=False)
    for k, (ax, (name, summary)) in enumerate(zip(axes[0], summaries)):
        r = summary.get("refusal") or {}
        grid = [[r.get("tp", 0), r.get("fn", 0)], [r.get("fp", 0), r.get("tn", 0)]]
        good = [[True, False], [False, True]]
        peak = max(max(row) for row in grid) or 1
        ax.imshow([[v / peak for v in row] for row in grid], cmap="Blues", vmin=0, vmax=1.6)
        for i in range(2):
            for j in range(2):
                ax.text(
                    j,
                    i,
                    f"{grid[i][j]}",
                    ha="center",
                    va="center",
                    fontsize=15,
                    weight="bold",
                    color="#1b5e20" if good[i][j] else "#b71c1c",
                )
        ax.set_xticks([0, 1])
        ax.set_xticklabels(["refused", "answered"])
        ax.set_yticks([0, 1])
        ax.set_yticklabels(["unanswerable", "answerable"] if k == 0 else ["", ""])
        ax.set_title(name, fontsize=11, pad=8)
    fig.suptitle("Refusals (green = right call, red = wrong call)", fontsize=11, y=1.02)
    fig.tight_layout()
    return _png(fig)


def latency(records: dict[str, list[dict[str, Any]]]) -> bytes:
    """Per-stage latency box plots for each system, plus the distribution of total latency."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [3, 2]})
    colors = {"project": PROJECT_COLOR, "baseline": BASELINE_COLOR}
    positions, data, tick_labels, box_colors = [], [], [], []
    pos = 0
    for stage in STAGE_ORDER:
        for name, rows in records.items():
            values = [r["latency_ms"][stage] for r in rows if stage in r["latency_ms"]]
            if values:
                positions.append(pos)
                data.append(values)
                box_colors.append(colors.get(name, PROJECT_COLOR))
                tick_labels.append(f"{stage}\n{'naive' if name == 'baseline' else name}")
                pos += 1
        pos += 0.6
    if data:
        boxes = left.boxplot(data, positions=positions, widths=0.7, patch_artist=True, showfliers=False)
        for patch, color in zip(boxes["boxes"], box_colors):
            patch.set_facecolor(color)
        left.set_xticks(positions)
        left.set_xticklabels(tick_labels, fontsize=8)
    left.set_ylabel("ms")
    left.set_title("Latency by stage (box: quartiles, whiskers: 1.5 IQR)", fontsize=10)
    _style(left)
    everything = [r["latency_ms"]["total"] for rows in records.values() for r in rows if "total" in r["latency_ms"]]
    low, high = max(min(everything, default=1.0), 0.1), max(max(everything, default=10.0), 1.0)
    bins = [low * (high / low) ** (i / 30) for i in range(31)] if high > low else 30
    for name, rows in records.items():
        totals = [max(r["latency_ms"]["total"], low) for r in rows if "total" in r["latency_ms"]]
        if totals:
            right.hist(
                totals,
                bins=bins,
                alpha=0.7,
                color=colors.get(name, PROJECT_COLOR),
                label="naive RAG" if name == "baseline" else name,
            )
    if isinstance(bins, list):
        right.set_xscale("log")
    right.set_xlabel("total ms per question (log scale)")
    right.set_title("Total latency", fontsize=10)
    right.legend(frameon=False, fontsize=9)
    _style(right)
    return _png(fig)


def categories(project: dict[str, Any], baseline: dict[str, Any] | None) -> bytes:
    """Share of questions handled right (answered if answerable, refused if not) per category."""
    names = list((project.get("categories") or {}).keys())
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(names) + 2), 3.6))
    width = 0.38 if baseline else 0.6
    mine = [project["categories"][n]["correct_rate"] * 100 for n in names]
    xs = range(len(names))
    ax.bar([x - (width / 2 if baseline else 0) for x in xs], mine, width, color=PROJECT_COLOR, label="project")
    if baseline:
        theirs = [((baseline.get("categories") or {}).get(n) or {}).get("correct_rate", 0) * 100 for n in names]
        ax.bar([x + width / 2 for x in xs], theirs, width, color=BASELINE_COLOR, label="naive RAG")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(names, rotation=20, ha="right", fontsize=9)
    ax.set_ylim(0, 105)
    ax.set_ylabel("% right call")
    ax.set_title("Right call (answer vs refuse) by category", fontsize=10, pad=24)
    ax.legend(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=9)
    _style(ax)
    return _png(fig)


def retrieval_variants(variants: dict[str, dict[str, Any]], reference: dict[str, float]) -> bytes:
    """nDCG@10 and Recall@100 per retriever variant, with published reference points as lines."""
    names = list(variants)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    width = 0.38
    xs = range(len(names))
    ax.bar(
        [x - width / 2 for x in xs],
        [(variants[n].get("ndcg@10") or 0) * 100 for n in names],
        width,
        color=PROJECT_COLOR,
        label="nDCG@10",
    )
    ax.bar(
        [x + width / 2 for x in xs],
        [(variants[n].get("recall@100") or 0) * 100 for n in names],
        width,
        color=BASELINE_COLOR,
        label="Recall@100",
    )
    for i, (label, score) in enumerate(reference.items()):
        ax.axhline(score * 100, ls="--", lw=1, color=["#e65100", "#6a1b9a"][i % 2], label=f"{label} nDCG@10")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(names, fontsize=9)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.set_title("Retrieval variants", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    _style(ax)
    return _png(fig)
