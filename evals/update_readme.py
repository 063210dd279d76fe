"""Regenerate the README's generated sections: the layout, the settings table and the eval results.

Run `python -m evals.update_readme` after changing a setting or re-running the evals; a test fails when
the settings table in README.md is stale.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

from tutor.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# Folders that are not Python packages, or whose package docstring is about the code, not the folder.
FOLDERS = {
    "tutor/": "the library; `pipeline.py` composes the stages below into `Tutor` (ask, stream, LangChain Runnable)",
    "ui/": "the Gradio chat page and the one server that mounts it beside the HTTP API (the only gradio importer)",
    "ui/widget/": "the embeddable widget: `/widget.js`, the light `/embed` chat on the HTTP API, `/demo` pages",
    "corpus/": "bundled lessons, one folder per course (see corpus/README.md)",
    "corpus/tools/": "build-time tools that made the bundled lessons: page cleaner, course importer",
    "evals/": "`tutor eval`: datasets, metrics, the naive baseline, reports, calibration and benchmarks",
    "tests/": "pytest suite, one file per module; fakes for logic, real Chroma and models end to end",
}


STAGES = ("ingest", "store", "retrieve", "ground", "generate", "serve")  # the order a request meets them


def layout_table() -> str:
    """One row per folder; a `tutor/` stage folder is described by its package docstring."""
    rows = ["| folder | what |", "|---|---|", f"| `tutor/` | {FOLDERS['tutor/']} |"]
    order = {stage: i for i, stage in enumerate(STAGES)}
    for init in sorted((ROOT / "tutor").glob("*/__init__.py"), key=lambda p: (order.get(p.parent.name, 99), p)):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        rows.append(f"| `tutor/{init.parent.name}/` | {' '.join(doc.split())} |")
    rows += [f"| `{folder}` | {what} |" for folder, what in FOLDERS.items() if folder != "tutor/"]
    return "\n".join(rows)


def settings_table() -> str:
    """One row per `Settings` field: its variable, its description, its default."""
    rows = ["| variable | meaning | default |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        if name == "embed_model":
            shown = "(bundled all-MiniLM-L6-v2)"
        elif name == "corpus":
            shown = "bundled `corpus/`"
        elif name == "model_cache":
            shown = "`~/.cache/lesson-tutor/models`"
        else:
            value = info.get_default(call_default_factory=True)
            value = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
            shown = f"`{value}`" if value else "—"
        rows.append(f"| `{Settings.env_name(name)}` | {info.description} | {shown} |")
    return "\n".join(rows)


_CATALOG_ROWS = {
    "full_ingest_s": ("full `tutor ingest`", "s"),
    "noop_ingest_s": ("no-op re-ingest", "s"),
    "one_change_ingest_s": ("re-ingest after one changed lesson", "s"),
    "ready_s": ("`tutor serve` start → ready", "s"),
    "ask_lesson_p50_ms": ("ask p50, lesson-scoped, lesson not opened first", "ms"),
    "ask_lesson_opened_p50_ms": ("ask p50, lesson-scoped, lesson opened first (the widget does)", "ms"),
    "ask_catalog_p50_ms": ("ask p50, catalog-wide", "ms"),
    "server_rss_mb": ("server RSS", "MB"),
    "mlfb_recall_at_1": ("mlfb lesson Recall@1, catalog as distractors", ""),
}


def _model_floor(model: dict) -> str:
    """What the embedding model alone needs for the catalog: the floor under the full ingest."""
    speed = f"The model alone ({model.get('precision', 'fp32')}) embeds {model['tokens_per_s']} tokens/s: "
    chunks = f"{model['chunk_tokens']} chunk tokens need {model['floor_s']} s at best"
    if "embedded_tokens" not in model:
        return speed + chunks + "."
    return (
        speed + chunks + f", and the {model['embedded_tokens']} tokens ingest embeds (each chunk under its title "
        f"and section) {model['embedded_floor_s']} s."
    )


def catalog_table() -> str:
    """The catalog benchmark's targets table, from evals/results/catalog.json (a full run) when present."""
    results = Path(__file__).resolve().parent / "results"
    runs = sorted(results.glob("catalog*.json"), key=lambda p: (p.stem != "catalog", p.stat().st_mtime))
    if not runs:
        return "Not measured yet: `python -m evals.bench_catalog`."
    data = json.loads(runs[0].read_text(encoding="utf-8"))
    cat = data["catalog"]
    scope = f"the first {cat['limit']} HTML pages" if cat.get("limit") else "every HTML page"
    lines = [
        f"`{runs[0].name}`: {scope} of the Debian documentation packages plus the bundled courses "
        f"({cat['lessons']} lessons, {cat['chunks']} chunks), {data['machine']['cpus']} CPUs, "
        f"sentence vectors at `{cat['sentence_vectors']}`. {_model_floor(data['model'])}",
        "",
        "| measure | target | measured | met |",
        "|---|---|---|---|",
    ]
    for name, (label, unit) in _CATALOG_ROWS.items():
        row = data["targets"].get(name)
        if row is None:  # a run from before this measure existed
            continue
        mark = "—" if row["met"] is None else "yes" if row["met"] else "no"
        shown = "not in this run" if row["measured"] is None else f"{row['measured']} {unit}"
        if name == "full_ingest_s" and data["full_ingest"].get("measured_by"):
            shown += f" ({data['full_ingest']['measured_by']})"
        lines.append(f"| {label} | {row['target']} {unit} | {shown} | {mark} |")
    served = data.get("one_change_ingest_serving")
    if served:
        lines.append(f"| re-ingest after one changed lesson, server running | — | {served['seconds']} s | — |")
    warm = data["server"].get("warm_s")
    if warm is not None:
        lines.append(f"| server start → warm (model, all-lessons BM25, chat UI loaded) | — | {warm} s | — |")
    again = data.get("ask_lesson_again")
    if again:
        lines.append(f"| ask p50, lesson-scoped, passages read before | — | {again['total']['p50']} ms | — |")
    opened = (data.get("ask_lesson_opened") or {}).get("opening_ms")
    if opened:
        lines.append(
            f"| opening a lesson (before its first question), p50 | — | {opened['p50']} ms (p95 {opened['p95']} ms; "
            f"{opened['n']} lessons, {opened['sentences_embedded']} sentences embedded) | — |"
        )
    recall = data["recall_at_1"]
    if recall.get("naive") is not None:
        lines += ["", *_naive_ratios(data)]
    return "\n".join(lines)


def _naive_ratios(data: dict) -> list[str]:
    """The tutor beside the naive LangChain pipeline indexed on the same catalog in the same run."""
    recall, full = data["recall_at_1"], data["full_ingest"]
    rows = [
        "| on the same catalog, same run | tutor | naive LangChain pipeline | tutor / naive |",
        "|---|---|---|---|",
        f"| mlfb lesson Recall@1 | {recall['tutor']} | {recall['naive']} | {recall['tutor'] / recall['naive']:.2f} |",
    ]
    if full.get("seconds") and recall.get("naive_ingest_s"):
        rows.append(
            f"| full ingest{' (the run that built the indexes)' if full.get('measured_by') else ''} "
            f"| {full['seconds']} s | {recall['naive_ingest_s']} s "
            f"| {full['seconds'] / recall['naive_ingest_s']:.2f} |"
        )
    else:
        rows.append(f"| full ingest | not in this run | {recall['naive_ingest_s']} s | — |")
    tutor_ms, naive_ms = recall.get("tutor_search_ms"), recall.get("naive_search_ms")
    if tutor_ms and naive_ms:
        rows.append(
            f"| catalog-wide search p50 (in process) | {tutor_ms['p50']} ms | {naive_ms['p50']} ms "
            f"| {tutor_ms['p50'] / naive_ms['p50']:.2f} |"
        )
    return rows


def replace_section(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"README has no <!-- {name}:start/end --> markers")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def render(text: str) -> str:
    text = replace_section(text, "layout", layout_table())
    text = replace_section(text, "settings", settings_table())
    text = replace_section(text, "catalog", catalog_table())
    try:
        from evals.readme_table import results_markdown
    except ImportError:
        return text
    return replace_section(text, "results", results_markdown())


def main() -> int:
    README.write_text(render(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
