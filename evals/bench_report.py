"""How long the gap report takes for a large questions log: 10,000 real questions (the shipped SQuAD 2.0
suite's, repeated to fill; the unanswerable ones and 15% of the rest refused), one lesson per article, over
60 days, logged through `QuestionLog` with real MiniLM vectors; then `gap_report` + `render` timed for
every format (median of 5 runs, in the same process).

    python -m evals.bench_report [--questions 10000]

Writes evals/results/report.json. Embedding the questions is setup and is not timed.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from evals.bench_catalog import RESULTS

SQUAD = Path(__file__).resolve().parent / "datasets" / "squad2"
DAY = 86_400


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from tutor.answer import Answer, Passage
    from tutor.report import gap_report, render
    from tutor.serve.feedback import FeedbackStore
    from tutor.serve.questions import QuestionLog
    from tutor.settings import apply_offline_env, default_embed_model
    from tutor.store.embedder import load_embedder

    apply_offline_env()
    rows = [json.loads(line) for f in ("test.jsonl", "tune.jsonl") for line in (SQUAD / f).read_text().splitlines()]
    rng = random.Random(2026)
    picked = [rows[i % len(rows)] for i in range(args.questions)]
    embedder = load_embedder(default_embed_model())
    vectors = embedder.embed_batch([r["question"] for r in picked], 64)
    by_text = dict(zip((r["question"] for r in picked), vectors, strict=False))

    home = Path(tempfile.mkdtemp(prefix="tutor-report-"))
    log = QuestionLog(home / "tutor.sqlite3", retention_days=0, embed=lambda q: by_text[q])
    feedback = FeedbackStore(home / "tutor.sqlite3")
    now = time.time()
    t = time.perf_counter()
    for i, row in enumerate(picked):
        refused = not row["answerable"] or rng.random() < 0.15
        lesson = row["lesson_id"]
        passage = Passage(f"{lesson}#0", lesson, lesson, "SQuAD", f"{lesson} > Part", "", 0, 1)
        answer = Answer(answer="", refused=refused, question=row["question"], lesson_id=lesson, passages=[passage])
        log.record(answer)
        if i % 50 == 0:
            feedback.add(row["question"], "…", lesson, "down", "this missed the point", answer.id)
    write_ms = (time.perf_counter() - t) * 1000 / len(picked)
    with sqlite3.connect(home / "tutor.sqlite3") as conn:  # spread the asks over 60 days
        conn.execute("UPDATE questions SET created = ? - (id % 60) * ?", (now, DAY))

    timings: dict[str, float] = {}
    for fmt in ("html", "md", "csv", "json"):
        runs = []
        for _ in range(args.runs):
            t = time.perf_counter()
            render(gap_report(log, feedback, []), fmt)
            runs.append(time.perf_counter() - t)
        timings[fmt] = round(statistics.median(runs), 3)
    report = gap_report(log, feedback, [])
    result = {
        "questions": len(picked),
        "refused": report.refused,
        "lessons": len(report.lessons),
        "groups": sum(len(lesson.clusters) for lesson in report.lessons),
        "log_write_ms_per_ask": round(write_ms, 2),
        "report_s_median": timings,
        "html_bytes": len(render(report, "html").encode()),
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "report.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
