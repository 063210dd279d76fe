"""Run a suite: index its corpus in its own data dir, ask every question, score, and print or save the result.

`tutor eval --suite seed` and `run_suite(SUITES["seed"], settings)` are the same thing; the CLI only adds
output (JSON or a table), `--report`, and `--check`. The tutor is driven only through its public API, and
the naive baseline answers the same questions in the same process, so the two columns are comparable.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evals.datasets import SUITES, DatasetError, EvalRow, Suite, custom_suite, load_rows
from evals.grounding import GroundingChecker
from evals.scoring import RANK_DEPTH, score_row, summarize
from tutor.answer import Answer
from tutor.generate.templates import load_prompt
from tutor.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_RESULTS = Path("eval-results")  # in the working directory: a run never writes into the installed package
RESULTS_ENV = "TUTOR_EVAL_RESULTS"
SUMMARY_GROUPS = ("retrieval", "refusal", "grounding", "answer", "latency_ms")


class EvalUsageError(ValueError):
    """The flags or the data do not make a runnable eval (exit code 2)."""


def results_dir(chosen: Path | None = None) -> Path:
    """Where complete runs of shipped suites are saved: `--results`, else `$TUTOR_EVAL_RESULTS`, else
    `./eval-results`. The README's table is built from `evals/results/`, which maintainers pass explicitly."""
    if chosen is not None:
        return chosen
    override = os.environ.get(RESULTS_ENV, "").strip()
    return Path(override) if override else DEFAULT_RESULTS


def eval_settings(suite: Suite, settings: Settings) -> Settings:
    """The user's settings pointed at the suite's own embedded index: an eval never touches the real one."""
    return settings.with_(home=suite.data_dir(settings.home), corpus=suite.corpus, chroma_url="")


def open_tutor(suite: Suite, settings: Settings):
    """A tutor over the suite's corpus, ingested incrementally (a re-run only hashes unchanged lessons)."""
    from tutor.pipeline import Tutor

    tutor = Tutor.from_settings(eval_settings(suite, settings))
    report = tutor.ingest()
    log.info(
        "suite %s: %d lessons, %d chunks (embedded %d) in %.1fs",
        suite.name,
        report.lessons,
        report.chunks,
        report.embedded,
        report.seconds,
    )
    for error in report.errors:
        log.warning("ingest: %s: %s", error["path"], error["error"])
    if not report.lessons:
        raise EvalUsageError(f"no lessons could be indexed from {', '.join(map(str, suite.corpus))}")
    return tutor


def run_suite(
    suite: Suite,
    settings: Settings,
    baseline: str | None = None,
    limit: int | None = None,
    progress: bool = True,
    judge: Any = None,
) -> dict[str, Any]:
    """Every question of the suite through the tutor (and the baseline); the summary plus per-row records.

    The returned dict is the JSON result (`suite`, `n`, metric groups, `baseline`, `meta`) with the raw
    per-question records under `records` ({"project": [...], "baseline": [...]}) for reports.
    """
    started = time.perf_counter()
    if baseline not in (None, "naive"):
        raise EvalUsageError(f"unknown baseline {baseline!r}: use naive")
    if suite.kind == "retrieval":
        from evals.scifact import run_scifact

        if baseline:
            log.warning("--baseline %s does not apply to the retrieval-only suite %s", baseline, suite.name)
        result = run_scifact(suite, settings, limit=limit, progress=progress, open_tutor=open_tutor)
        result["meta"] = _meta(suite, settings, limit, started)
        return result
    rows = load_rows(suite.dataset, limit)
    tutor = open_tutor(suite, settings)
    _check_lessons(rows, {r.id for r in tutor.lessons()}, suite)

    # imported here, not at the top: they load the pipeline, and `tutor eval --help`/bad flags should not wait
    from evals.systems import TutorSystem

    systems: list[Any] = [TutorSystem(tutor)]
    if baseline == "naive":
        from evals.baseline import NaiveRAG

        naive = NaiveRAG(tutor, suite.data_dir(settings.home))
        naive.build()
        systems.append(naive)

    lead = load_prompt("refusal")["answer_lead"]
    project: TutorSystem = systems[0]
    checkers = [GroundingChecker(project.lesson_text, s.chunk_text, tutor.support, lead, judge) for s in systems]
    records: dict[str, list[dict[str, Any]]] = {s.name: [] for s in systems}
    errors = dict.fromkeys(records, 0)
    for row in _progress(rows, suite.name, progress):
        for system, checker in zip(systems, checkers):
            answer = _answer(system, row)
            if answer.gate.get("layer") == "error":
                errors[system.name] += 1
            # retrieval metrics apply to answerable rows with gold lessons only: skip the extra search otherwise
            wanted = row.answerable and (row.gold_lessons or row.gold_chunks)
            ranking = system.rank(answer.standalone_question or row.question, RANK_DEPTH) if wanted else []
            records[system.name].append(
                score_row(
                    row,
                    answer,
                    ranking,
                    checker.check(answer),
                    suite.key_fact_mode,
                    native_chunk_ids=system.name == "project",
                )
            )
    result: dict[str, Any] = {"suite": suite.name, **_summary(records["project"], errors["project"])}
    result["baseline"] = (
        {"suite": suite.name, "name": "naive LangChain RAG", **_summary(records["baseline"], errors["baseline"])}
        if "baseline" in records
        else None
    )
    result["meta"] = _meta(suite, settings, limit, started)
    result["records"] = records
    return result


def _summary(records: list[dict[str, Any]], errors: int) -> dict[str, Any]:
    summary = summarize(records)
    summary["errors"] = errors
    return summary


def _answer(system: Any, row: EvalRow) -> Answer:
    """The system's answer; an exception becomes a recorded error row so one bad question can't sink a long run."""
    try:
        return system.answer(row)
    except Exception as exc:  # noqa: BLE001 - recorded and counted; --check fails on any
        log.exception("%s failed on %s", system.name, row.id)
        return Answer(
            answer=f"ERROR: {type(exc).__name__}: {exc}",
            refused=True,
            question=row.question,
            standalone_question=row.question,
            lesson_id=row.lesson_id,
            gate={"layer": "error"},
        )


def _check_lessons(rows: list[EvalRow], known: set[str], suite: Suite) -> None:
    missing = sorted({r.lesson_id for r in rows if r.lesson_id and r.lesson_id not in known})
    if missing:
        where = ", ".join(str(p) for p in suite.corpus)
        raise EvalUsageError(
            f"{len(missing)} lesson id(s) used by {suite.dataset} are not in the corpus ({where}): "
            f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}"
        )


def _progress(rows: list[EvalRow], name: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(rows, desc=f"eval {name}", unit="q", disable=not enabled, file=sys.stderr)


def _meta(suite: Suite, settings: Settings, limit: int | None, started: float) -> dict[str, Any]:
    return {
        "dataset": str(suite.dataset),
        "corpus": [str(p) for p in suite.corpus] or [str(suite.dataset.parent / "corpus.jsonl.gz")],
        "description": suite.description,
        "limit": limit,
        "llm": settings.llm,
        "embed_model": _model_name(settings.embed_model),
        "top_k": settings.top_k,
        "seconds": round(time.perf_counter() - started, 1),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }


def _model_name(model: str) -> str:
    """A readable model name: the bundled model's package folder rather than its absolute path."""
    path = Path(model)
    if not path.exists():
        return model
    parts = [p for p in path.parts if p not in ("model", "models")]
    return parts[-1] if parts else model


def public_result(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON printed by `--json` and saved under `evals/results/` (no per-question records)."""
    return {k: v for k, v in result.items() if k != "records"}


def resolve_suite(args: argparse.Namespace, settings: Settings) -> Suite:
    """`--suite NAME` or `--dataset FILE [--corpus DIR ...]`, exactly one."""
    if bool(args.suite) == bool(args.dataset):
        raise EvalUsageError("give exactly one of --suite (seed, mlfb, squad2, scifact) or --dataset FILE")
    if args.suite:
        if args.suite not in SUITES:
            raise EvalUsageError(f"unknown suite {args.suite!r}: choose from {', '.join(SUITES)}")
        if getattr(args, "corpus", None):
            log.warning("--corpus is ignored with --suite (each shipped suite has its own corpus)")
        return SUITES[args.suite]
    corpus = tuple(args.corpus) if getattr(args, "corpus", None) else tuple(settings.corpus)
    return custom_suite(args.dataset, corpus)


def run_from_cli(args: argparse.Namespace, settings: Settings) -> int:
    """`tutor eval`: 0 = ran (and passed --check), 1 = a threshold failed, 2 = bad flags or data."""
    from evals.console import format_table
    from evals.thresholds import check, load_thresholds

    try:
        suite = resolve_suite(args, settings)
        if args.limit is not None and args.limit < 1:
            raise EvalUsageError("--limit must be at least 1")
        judge = _judge(args, settings)
        result = run_suite(suite, settings, baseline=args.baseline, limit=args.limit, judge=judge)
    except (EvalUsageError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    public = public_result(result)
    if args.suite and args.limit is None:
        _save(public, results_dir(getattr(args, "results", None)) / f"{suite.name}.json")
    if args.report:
        from evals.report import write_report

        written = write_report(Path(args.report), result)
        log.info("report written to %s", written)
    if args.json:
        print(json.dumps(public, ensure_ascii=False))
    else:
        print(format_table(public))
        if args.report:
            print(f"\nreport: {Path(args.report) / 'report.html'}")
    if not args.check:
        return 0
    try:
        limits = load_thresholds(suite.name)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not limits:
        log.warning("no thresholds for suite %s: --check has nothing to compare", suite.name)
    failures = check(public, limits)
    if failures:
        print(f"check failed for suite {suite.name}:", file=sys.stderr)
        for line in failures:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


def _judge(args: argparse.Namespace, settings: Settings) -> Any:
    """The optional LLM judge for `--judge`; a backend that cannot start is a usage error."""
    if not getattr(args, "judge", None):
        return None
    from evals.llm_judge import LLMJudge

    try:
        return LLMJudge.from_settings(settings, args.judge)
    except (ValueError, RuntimeError) as exc:
        raise EvalUsageError(f"--judge {args.judge}: {exc}") from exc


def _save(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("saved %s", path)
