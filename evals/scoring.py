"""One answer → one record with its per-question metrics; many records → the suite summary.

Records keep everything needed to judge a question by eye (question, expectation, answer, citations,
passages, gate decision, latency), so the report's failure lists and `records.jsonl` are built from the
same data as the headline numbers and can never disagree with them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from evals.datasets import EvalRow
from evals.grounding import GroundingResult
from evals.headline import Metric, shown, value
from evals.metrics import (
    answer_claims,
    dedupe,
    fact_coverage,
    key_fact_recall,
    mean,
    ndcg_at_k,
    percentile,
    ratio,
    recall_at_k,
    reciprocal_rank,
    refusal_counts,
    refusal_scores,
    restates_question,
    token_f1,
)
from tutor.answer import Answer, Passage

RANK_DEPTH = 20  # chunks ranked over all lessons per question for the retrieval metrics
STAGES = ("retrieve", "evidence", "gate", "answer", "verify", "total")
# Shown under the headline table by the console and the report (lower is better); it sits beside the
# key-fact recall in the summary's "answer" group.
RESTATED = Metric("restated", ("answer", "restated"), "answers that only restate the question", higher_is_better=False)


def reported_metrics(summaries: list[dict[str, Any] | None]) -> list[Metric]:
    """The headline metrics that apply to the summaries, with `RESTATED` right after the key-fact recall
    when any summary measured it (the console table and the report show the same list)."""
    metrics = shown(summaries)
    if not any(value(s, RESTATED) is not None for s in summaries):
        return metrics
    names = [m.name for m in metrics]
    answer = [i for i, m in enumerate(metrics) if m.path[0] == "answer"]
    after = names.index("key_fact_recall") if "key_fact_recall" in names else max(answer, default=len(metrics) - 1)
    return metrics[: after + 1] + [RESTATED] + metrics[after + 1 :]


def score_row(
    row: EvalRow,
    answer: Answer,
    ranking: Sequence[Passage],
    grounding: GroundingResult,
    key_fact_mode: str = "all",
    native_chunk_ids: bool = True,
) -> dict[str, Any]:
    """Per-question record: what was asked and expected, what came back, and how it scores."""
    lessons = dedupe(p.lesson_id for p in ranking)
    gold = row.gold_lessons if row.answerable else ()
    metrics: dict[str, Any] = {
        "decision_correct": answer.refused != row.answerable,
        "recall@1": recall_at_k(lessons, gold, 1),
        "recall@5": recall_at_k(lessons, gold, 5),
        "rr": reciprocal_rank(lessons, gold),
        "ndcg@10": ndcg_at_k(lessons, {g: 1.0 for g in gold}, 10),
        "chunk_recall@10": (
            recall_at_k([p.chunk_id for p in ranking], row.gold_chunks, 10)
            if row.answerable and native_chunk_ids
            else None
        ),
        "context_recall": fact_coverage([p.text for p in answer.passages], row.key_facts, key_fact_mode),
        "key_fact_recall": None,
        "token_f1": None,
        "restated": None,
    }
    if row.answerable:
        text = "" if answer.refused else answer.answer
        references = [row.reference] + (list(row.key_facts) if key_fact_mode == "any" else [])
        metrics["key_fact_recall"] = key_fact_recall(text, row.key_facts, key_fact_mode)
        metrics["token_f1"] = token_f1(text, [r for r in references if r])
        if not answer.refused:
            metrics["restated"] = restated(row, answer)
    metrics.update(grounding.to_dict())
    return {
        "id": row.id,
        "category": row.category,
        "question": row.question,
        "standalone_question": answer.standalone_question,
        "lesson_id": row.lesson_id,
        "history": list(row.history),
        "answerable": row.answerable,
        "expected": {
            "reference": row.reference,
            "key_facts": list(row.key_facts),
            "gold_lessons": list(row.gold_lessons),
        },
        "answer": answer.answer,
        "refused": answer.refused,
        "backend": answer.backend,
        "gate": answer.gate,
        "citations": [
            {
                "n": c.n,
                "lesson_id": c.lesson_id,
                "chunk_id": c.chunk_id,
                "section": c.section,
                "quote": c.quote,
                "start": c.start,
                "end": c.end,
            }
            for c in answer.citations
        ],
        "passages": [
            {
                "chunk_id": p.chunk_id,
                "lesson_id": p.lesson_id,
                "section": p.section,
                "score": round(p.score, 4),
                "text": p.text,
            }
            for p in answer.passages
        ],
        "dropped": list(answer.dropped),
        "retrieved_lessons": lessons[:10],
        "latency_ms": {k: v for k, v in answer.timings_ms.items() if k in STAGES},
        "metrics": metrics,
    }


def restated(row: EvalRow, answer: Answer) -> bool:
    """Whether an answer only restates its question (see `evals.metrics.restates_question`).

    What is compared is what the answer quotes from the lesson: its citations' quotes, or, for an answer
    without citations, its own sentences (markers and "Under “...”:" framing removed). The question side is
    the question as typed plus the standalone rewrite of a follow-up, so echoing either counts.
    """
    quoted = [c.quote for c in answer.citations] or [claim for claim, _ in answer_claims(answer.answer)]
    return restates_question([row.question, answer.standalone_question], quoted)


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Suite-level metrics from per-question records (None where a metric does not apply)."""
    m = [r["metrics"] for r in records]
    answerable = [r for r in records if r["answerable"]]
    counts = refusal_counts((not r["answerable"], r["refused"]) for r in records)
    citations = sum(x["citations"] for x in m)
    sentences = sum(x["sentences"] for x in m)
    totals = [r["latency_ms"]["total"] for r in records if "total" in r["latency_ms"]]
    stages = {}
    for stage in STAGES:
        values = [r["latency_ms"][stage] for r in records if stage in r["latency_ms"]]
        if values:
            stages[stage] = {"p50": _round(percentile(values, 50)), "p95": _round(percentile(values, 95))}
    return {
        "n": len(records),
        "answerable": len(answerable),
        "unanswerable": len(records) - len(answerable),
        "retrieval": {
            "scope": "all lessons",
            "recall@1": mean(x["recall@1"] for x in m),
            "recall@5": mean(x["recall@5"] for x in m),
            "mrr": mean(x["rr"] for x in m),
            "ndcg@10": mean(x["ndcg@10"] for x in m),
            "chunk_recall@10": mean(x["chunk_recall@10"] for x in m),
            "context_recall": mean(x["context_recall"] for x in m),
        },
        "refusal": {**refusal_scores(counts), **counts},
        "grounding": {
            "citation_validity": ratio(sum(x["valid_citations"] for x in m), citations),
            "supported_rate": ratio(sum(x["supported_sentences"] for x in m), sentences),
            "llm_judge_supported_rate": ratio(
                sum(x.get("judge_supported_sentences", 0) for x in m), sum(x.get("judged_sentences", 0) for x in m)
            ),
            "citations": citations,
            "sentences": sentences,
        },
        "answer": {
            "key_fact_recall": mean(x["key_fact_recall"] for x in m),
            "key_fact_recall_answered": mean(x["key_fact_recall"] for r, x in zip(records, m) if not r["refused"]),
            "token_f1": mean(x["token_f1"] for x in m),
            "restated": mean(x.get("restated") for x in m),
            "accuracy": mean(_right(r, x) for r, x in zip(records, m)),
        },
        "latency_ms": {"p50": _round(percentile(totals, 50)), "p95": _round(percentile(totals, 95)), "stages": stages},
        "categories": by_category(records),
    }


def by_category(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per `category` slice (definition, near-miss, follow-up, ...): how often it refused, made the right
    call, found the key facts (refusals count as misses, as in the headline) and only restated the question.

    `key_fact_recall` and `restated` are None for a slice without answerable (resp. answered answerable)
    rows. Rows without a category fall into "answerable" / "unanswerable".
    """
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[r["category"] or ("answerable" if r["answerable"] else "unanswerable")].append(r)
    return {
        name: {
            "n": len(rows),
            "answerable": sum(bool(r["answerable"]) for r in rows),
            "refused_rate": sum(r["refused"] for r in rows) / len(rows),
            "correct_rate": sum(r["metrics"]["decision_correct"] for r in rows) / len(rows),
            "key_fact_recall": mean(r["metrics"]["key_fact_recall"] for r in rows),
            "restated": mean(r["metrics"].get("restated") for r in rows),
        }
        for name, rows in sorted(groups.items())
    }


CATEGORY_COLUMNS = ("refused_rate", "key_fact_recall", "restated")


def category_comparison(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per category of the project's summary with the baseline's number beside each of ours.

    Each row is {"category", "n", "answerable", "project": {column: value}, "baseline": {column: value}
    or None}; the console table and the report both read this, so the two never disagree.
    """
    base = ((result.get("baseline") or {}).get("categories")) if result.get("baseline") else None
    rows = []
    for name, cat in (result.get("categories") or {}).items():
        theirs = (base or {}).get(name)
        rows.append(
            {
                "category": name,
                "n": cat["n"],
                "answerable": cat.get("answerable"),
                "project": {c: cat.get(c) for c in CATEGORY_COLUMNS},
                "baseline": {c: theirs.get(c) for c in CATEGORY_COLUMNS} if theirs else None,
            }
        )
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _right(record: dict[str, Any], metrics: dict[str, Any]) -> float:
    """Overall accuracy's unit: an unanswerable question refused, or an answerable one answered with all of
    its key facts (for SQuAD-style rows, one of the gold answers) in the answer."""
    if not record["answerable"]:
        return float(record["refused"])
    return float(not record["refused"] and (metrics["key_fact_recall"] or 0.0) >= 1.0)
