"""`--report DIR`: a page to look at (report.html, self-contained), its Markdown twin, and the raw rows.

The HTML embeds every chart as a base64 PNG so it can be mailed or attached to CI as one file; the
Markdown saves the same PNGs beside itself. `records.jsonl` has one row per question with everything
(project and baseline side by side), and `ragas.jsonl` is the shape RAGAS-style graders read
(`question`, `contexts`, `answer`, `ground_truth`), so an LLM judge can be run later without re-asking.
"""

from __future__ import annotations

import base64
import html
import json
import logging
from pathlib import Path
from typing import Any

from evals import plots
from evals.console import category_grid
from evals.headline import better, fmt, fmt_delta, value
from evals.scoring import reported_metrics

log = logging.getLogger(__name__)

FAILURES_SHOWN = 8
PASSAGES_SHOWN = 3


def write_report(out_dir: Path, result: dict[str, Any]) -> Path:
    """Write every report file into `out_dir`; returns the path of report.html."""
    out_dir.mkdir(parents=True, exist_ok=True)
    records = result.get("records") or {}
    public = {k: v for k, v in result.items() if k != "records"}
    (out_dir / "summary.json").write_text(json.dumps(public, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _write_jsonl(out_dir / "records.jsonl", merged_records(records))
    if result.get("answer") and any(r.get("answerable") is not None for r in records.get("project", [])):
        _write_jsonl(out_dir / "ragas.jsonl", ragas_rows(records.get("project", [])))
        if records.get("baseline"):
            _write_jsonl(out_dir / "ragas_baseline.jsonl", ragas_rows(records["baseline"]))
    charts = make_charts(result, records)
    for name, png in charts.items():
        (out_dir / f"{name}.png").write_bytes(png)
    sections = failure_sections(records)
    (out_dir / "report.md").write_text(render_markdown(public, charts, sections), encoding="utf-8")
    page = out_dir / "report.html"
    page.write_text(render_html(public, charts, sections), encoding="utf-8")
    return page


# --- data ----------------------------------------------------------------------------------------
def merged_records(records: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Project rows, each with the baseline's answer to the same question under `baseline`."""
    baseline = {r["id"]: r for r in records.get("baseline", [])}
    out = []
    for row in records.get("project", []):
        merged = dict(row)
        other = baseline.get(row["id"])
        if other is not None:
            merged["baseline"] = {
                k: other[k]
                for k in (
                    "answer",
                    "refused",
                    "citations",
                    "passages",
                    "metrics",
                    "latency_ms",
                    "retrieved_lessons",
                    "backend",
                )
            }
        out.append(merged)
    return out


def ragas_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """RAGAS-style rows; unanswerable questions get the expected behaviour as their ground truth."""
    return [
        {
            "id": r["id"],
            "question": r["question"],
            "contexts": [p["text"] for p in r.get("passages", [])],
            "answer": r["answer"],
            "ground_truth": r["expected"]["reference"]
            if r["answerable"]
            else "The lesson does not cover this; the tutor should say so and not answer.",
        }
        for r in rows
    ]


def failure_sections(records: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str, list[dict[str, Any]], int]]:
    """(title, why it matters, worst cases, total) for each kind of failure, most confident mistakes first."""
    project = records.get("project", [])
    if not project or "answerable" not in project[0]:
        return []
    answered = [r for r in project if not r["answerable"] and not r["refused"]]
    answered.sort(key=lambda r: -float((r.get("gate") or {}).get("score") or 0.0))
    refused = [r for r in project if r["answerable"] and r["refused"]]
    refused.sort(
        key=lambda r: (-(r["metrics"].get("context_recall") or 0.0), float((r.get("gate") or {}).get("score") or 0.0))
    )
    invalid = [
        dict(r, system=name) for name, rows in records.items() for r in rows if r["metrics"].get("citation_problems")
    ]
    unsupported = [r for r in project if r["metrics"].get("unsupported_sentences")]
    return [
        (
            "Answered, but the lesson does not cover it",
            "unanswerable questions the tutor answered anyway, highest gate confidence first",
            answered[:FAILURES_SHOWN],
            len(answered),
        ),
        (
            "Refused, but the lesson answers it",
            "answerable questions the tutor refused; those whose key facts were "
            "in the retrieved passages first (the gate, not retrieval, said no)",
            refused[:FAILURES_SHOWN],
            len(refused),
        ),
        (
            "Invalid citations",
            "a quote that is not verbatim in its chunk or not at its lesson span",
            invalid[:FAILURES_SHOWN],
            len(invalid),
        ),
        (
            "Unsupported answer sentences",
            "sentences the support scorer does not find in their cited quote or chunk",
            unsupported[:FAILURES_SHOWN],
            len(unsupported),
        ),
    ]


def make_charts(result: dict[str, Any], records: dict[str, list[dict[str, Any]]]) -> dict[str, bytes]:
    base = result.get("baseline")
    charts = {"metrics": plots.metrics_bars(result, base)}
    if result.get("variants"):
        charts["retrieval_variants"] = plots.retrieval_variants(
            result["variants"], result.get("reference_ndcg@10") or {}
        )
    if (result.get("refusal") or {}).get("tp") is not None:
        systems = [("project", result)] + ([("naive RAG", base)] if base else [])
        charts["confusion"] = plots.confusion(systems)
    if len(result.get("categories") or {}) > 1:
        charts["categories"] = plots.categories(result, base)
    if any(r.get("latency_ms") for rows in records.values() for r in rows):
        charts["latency"] = plots.latency(records)
    return charts


def headline_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Metric label, project, baseline, delta and whether the project is better (+1), worse (-1) or even."""
    base = result.get("baseline")
    rows = []
    for m in reported_metrics([result, base]):
        mine, theirs = value(result, m), value(base, m)
        rows.append(
            {
                "label": m.label,
                "name": m.name,
                "group": GROUP_TITLES.get(m.path[0], m.path[0]),
                "project": fmt(m, mine),
                "baseline": fmt(m, theirs),
                "delta": fmt_delta(m, mine, theirs),
                "verdict": better(m, mine, theirs),
            }
        )
    return rows


CATEGORY_NOTE = (
    "refused = share of the slice refused; facts = key-fact recall over its answerable rows (a refusal scores 0); "
    "restated = share of its answered answerable rows whose quoted text only restates the question."
)


GROUP_TITLES = {
    "retrieval": "Retrieval",
    "refusal": "Refusal (positive = refused)",
    "grounding": "Grounding",
    "answer": "Answers",
    "latency_ms": "Latency",
}
CHART_TITLES = {
    "metrics": "Headline metrics",
    "retrieval_variants": "Retriever variants",
    "confusion": "Refusal confusion matrix",
    "categories": "By question category",
    "latency": "Latency",
}


# --- HTML ----------------------------------------------------------------------------------------
_CSS = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
main{max-width:1100px;margin:0 auto;padding:28px 24px 60px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 10px}h3{font-size:15px;margin:0 0 6px}
.sub{color:#5b6475;margin-bottom:18px}
.tiles{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0 8px}
.tile{background:#fff;border-radius:10px;padding:10px 16px;box-shadow:0 1px 2px #0001;min-width:120px}
.tile b{display:block;font-size:22px}.tile span{color:#5b6475;font-size:13px}
table{border-collapse:collapse;background:#fff;border-radius:10px;overflow:hidden;box-shadow:0 1px 2px #0001;
width:100%}
th,td{padding:8px 14px;text-align:right;border-bottom:1px solid #eef0f3}th{background:#fafbfc;font-weight:600}
td:first-child,th:first-child{text-align:left}
.pill{display:inline-block;border-radius:999px;padding:1px 10px;font-weight:600;font-size:13px}
.good{background:#e3f4e6;color:#1b5e20}.bad{background:#fde7e7;color:#b71c1c}.even{background:#eef0f3;color:#5b6475}
.proj{font-weight:700}
tr.group td{background:#f0f3f8;color:#3b4455;font-size:12px;font-weight:700;text-transform:uppercase;
letter-spacing:.04em;text-align:left;padding:5px 14px}
.charts{display:grid;grid-template-columns:1fr;gap:16px}
figure{background:#fff;margin:0;padding:14px;border-radius:10px;box-shadow:0 1px 2px #0001}
figure img{max-width:100%;height:auto;display:block;margin:0 auto}figcaption{color:#5b6475;font-size:13px}
.case{background:#fff;border-radius:10px;padding:12px 16px;margin:10px 0;box-shadow:0 1px 2px #0001;
border-left:4px solid #d32f2f}
.q{font-weight:600}.meta{color:#5b6475;font-size:12.5px;margin:2px 0 6px}
.label{display:inline-block;min-width:78px;color:#5b6475;font-size:13px}
blockquote{margin:6px 0;padding:6px 10px;background:#f7f8fa;border-left:3px solid #c5cbd6;font-size:13.5px}
details summary{cursor:pointer;color:#2f6fdf;font-size:13px}.note{color:#5b6475;font-size:13px}
"""


def render_html(result: dict[str, Any], charts: dict[str, bytes], sections: list) -> str:
    e = html.escape
    meta = result.get("meta") or {}
    base = result.get("baseline")
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Eval report: {e(result['suite'])}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>Grounding eval · {e(result['suite'])}</h1>",
        f"<div class='sub'>{e(meta.get('description') or '')}</div>",
        "<div class='tiles'>",
    ]
    tiles = [(result["n"], "questions")]
    if result.get("answerable") is not None:
        tiles += [(result["answerable"], "answerable"), (result["unanswerable"], "unanswerable")]
    tiles += [
        (f"{meta.get('seconds', 0):.0f}s", "run time"),
        (meta.get("llm", "?"), "answer backend"),
        (meta.get("embed_model", "?"), "embedder"),
    ]
    parts += [f"<div class='tile'><b>{e(str(v))}</b><span>{e(label)}</span></div>" for v, label in tiles]
    parts.append("</div>")
    if meta.get("limit"):
        parts.append(f"<p class='note'>Only the first {meta['limit']} questions (--limit).</p>")

    parts.append(
        "<h2>Headline</h2><table><tr><th>metric</th><th>project</th>"
        + ("<th>naive RAG</th><th>Δ project − naive</th>" if base else "")
        + "</tr>"
    )
    group = None
    for row in headline_rows(result):
        if row["group"] != group:
            group = row["group"]
            parts.append(f"<tr class='group'><td colspan='{4 if base else 2}'>{e(group)}</td></tr>")
        cls = {1: "good", -1: "bad", 0: "even"}[row["verdict"]]
        cells = f"<td>{e(row['label'])}</td><td class='proj'>{e(row['project'])}</td>"
        if base:
            delta = f"<span class='pill {cls}'>{e(row['delta'])}</span>" if row["delta"] else ""
            cells += f"<td>{e(row['baseline'])}</td><td>{delta}</td>"
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</table>")
    if result.get("answerable") is not None:
        parts.append(
            "<p class='note'>Retrieval is measured over <b>all</b> lessons (the question's lesson scope "
            "would make lesson recall trivially 100%); refusal treats <i>refused</i> as the positive "
            "class; green = project better, red = worse.</p>"
        )
    variants = result.get("variants")
    if variants:
        parts.append(
            "<h2>Retriever variants</h2><table><tr><th>variant</th><th>nDCG@10</th><th>Recall@100</th><th>MRR</th></tr>"
        )
        for name, v in variants.items():
            parts.append(
                f"<tr><td>{e(name)}</td><td>{_pct(v.get('ndcg@10'))}</td>"
                f"<td>{_pct(v.get('recall@100'))}</td><td>{_pct(v.get('mrr'))}</td></tr>"
            )
        for name, score in (result.get("reference_ndcg@10") or {}).items():
            parts.append(f"<tr><td class='note'>published: {e(name)}</td><td>{_pct(score)}</td><td></td><td></td></tr>")
        parts.append("</table>")

    header, cells = category_grid(result)
    if cells:
        parts.append("<h2>By category</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in line) + "</tr>" for line in cells]
        parts.append(f"</table><p class='note'>{e(CATEGORY_NOTE)}</p>")

    parts.append("<h2>Charts</h2><div class='charts'>")
    for name, png in charts.items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{e(CHART_TITLES.get(name, name))}">'
            f"<figcaption>{e(CHART_TITLES.get(name, name))}</figcaption></figure>"
        )
    parts.append("</div>")

    for title, why, cases, total in sections:
        parts.append(
            f"<h2>{e(title)} <span class='pill {'bad' if total else 'good'}'>{total}</span></h2>"
            f"<p class='note'>{e(why)}{'; worst ' + str(len(cases)) + ' shown' if total > len(cases) else ''}"
            f"</p>"
        )
        if not cases:
            parts.append("<p class='note'>None.</p>")
        parts += [_case_html(case) for case in cases]
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _case_html(r: dict[str, Any]) -> str:
    e = html.escape
    gate = r.get("gate") or {}
    meta = " · ".join(
        x
        for x in (
            r["id"],
            r.get("lesson_id") or "all lessons",
            r.get("category") or "",
            r.get("system", ""),
            f"gate {gate.get('layer')} {gate.get('score')}: {gate.get('reason')}" if gate.get("layer") else "",
        )
        if x
    )
    if r["answerable"]:
        expected = (
            f"{e(r['expected']['reference'])} <span class='note'>(key facts: "
            f"{e('; '.join(r['expected']['key_facts']))})</span>"
        )
    else:
        expected = "refuse: the lesson does not cover this"
    out = [
        f"<div class='case'><div class='q'>{e(r['question'])}</div><div class='meta'>{e(meta)}</div>",
        f"<div><span class='label'>expected</span>{expected}</div>",
        f"<div><span class='label'>answer</span>{e(r['answer'])}</div>",
    ]
    for c in r.get("citations", []):
        out.append(f"<blockquote>[{c['n']}] {e(c['chunk_id'])}: “{e(c['quote'])}”</blockquote>")
    for p in r["metrics"].get("citation_problems", []):
        out.append(f"<div class='note'>✗ [{p['n']}] {e(p['problem'])}</div>")
    for s in r["metrics"].get("unsupported_sentences", []):
        out.append(f"<div class='note'>✗ unsupported: {e(s)}</div>")
    passages = r.get("passages", [])
    if passages:
        out.append(f"<details><summary>retrieved passages ({len(passages)})</summary>")
        out += [
            f"<blockquote><b>{e(p['chunk_id'])}</b> ({p['score']}) {e(p['text'][:700])}</blockquote>"
            for p in passages[:PASSAGES_SHOWN]
        ]
        out.append("</details>")
    out.append("</div>")
    return "\n".join(out)


def _pct(number: float | None) -> str:
    return "—" if number is None else f"{number * 100:.1f}%"


# --- Markdown ------------------------------------------------------------------------------------
def render_markdown(result: dict[str, Any], charts: dict[str, bytes], sections: list) -> str:
    meta = result.get("meta") or {}
    base = result.get("baseline")
    lines = [f"# Grounding eval · {result['suite']}", "", meta.get("description") or "", ""]
    counts = f"{result['n']} questions"
    if result.get("answerable") is not None:
        counts += f" ({result['answerable']} answerable, {result['unanswerable']} unanswerable)"
    lines += [
        f"{counts} · {meta.get('seconds', 0):.0f}s · backend `{meta.get('llm')}` · "
        f"embedder `{meta.get('embed_model')}`",
        "",
    ]
    header = "| metric | project |" + (" naive RAG | Δ |" if base else "")
    lines += [header, "|---|---:|" + ("---:|---:|" if base else "")]
    for row in headline_rows(result):
        mark = {1: " ✅", -1: " 🔻", 0: ""}[row["verdict"]]
        line = f"| {row['label']} | **{row['project']}** |"
        if base:
            line += f" {row['baseline']} | {row['delta']}{mark} |"
        lines.append(line)
    lines += ["", "Retrieval over all lessons; refusal positive class = refused; ✅ project better, 🔻 worse.", ""]
    for name, v in (result.get("variants") or {}).items():
        lines.append(f"- {name}: nDCG@10 {_pct(v.get('ndcg@10'))}, Recall@100 {_pct(v.get('recall@100'))}")
    header, cells = category_grid(result)
    if cells:
        lines += ["## By category", "", "| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
        lines += ["| " + " | ".join(_md(c) for c in line) + " |" for line in cells]
        lines += ["", f"_{CATEGORY_NOTE}_", ""]
    for name in charts:
        lines += [f"## {CHART_TITLES.get(name, name)}", "", f"![{CHART_TITLES.get(name, name)}]({name}.png)", ""]
    for title, why, cases, total in sections:
        lines += [f"## {title} ({total})", "", f"_{why}_", ""]
        for r in cases:
            gate = r.get("gate") or {}
            lines.append(
                f"- **{_md(r['question'])}** (`{r['id']}`, {r.get('lesson_id') or 'all lessons'}"
                + (f", gate {gate.get('layer')} {gate.get('score')}" if gate.get("layer") else "")
                + ")"
            )
            expected = r["expected"]["reference"] if r["answerable"] else "refuse"
            lines.append(f"  - expected: {_md(expected)}")
            lines.append(f"  - answer: {_md(r['answer'])}")
            for p in r["metrics"].get("citation_problems", []):
                lines.append(f"  - ✗ [{p['n']}] {p['problem']}")
            for p in r.get("passages", [])[:1]:
                lines.append(f"  - top passage `{p['chunk_id']}`: {_md(p['text'][:300])}…")
        lines.append("")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
