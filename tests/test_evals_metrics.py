"""Eval metrics on hand-made records: each number checked against one worked by hand."""

from __future__ import annotations

import json
import math

import pytest

from evals.datasets import DatasetError, load_rows
from evals.grounding import GroundingChecker
from evals.headline import BY_NAME, better, fmt, fmt_delta
from evals.metrics import (
    answer_claims,
    citation_problem,
    dedupe,
    fact_coverage,
    key_fact_recall,
    ndcg_at_k,
    percentile,
    recall_at_k,
    reciprocal_rank,
    refusal_counts,
    refusal_scores,
    squad_normalize,
    strip_markers,
    token_f1,
)
from evals.readme_table import results_markdown
from evals.scoring import summarize
from evals.thresholds import check
from tutor.answer import Answer, Citation

# --- refusal ---------------------------------------------------------------------------------------


def test_refusal_precision_recall_f1_positive_is_refused():
    # (should_refuse, refused): 3 TP, 1 FP, 2 FN, 4 TN
    pairs = [(True, True)] * 3 + [(False, True)] + [(True, False)] * 2 + [(False, False)] * 4
    counts = refusal_counts(pairs)
    assert counts == {"tp": 3, "fp": 1, "fn": 2, "tn": 4}
    scores = refusal_scores(counts)
    assert scores["precision"] == pytest.approx(3 / 4)
    assert scores["recall"] == pytest.approx(3 / 5)
    assert scores["f1"] == pytest.approx(2 * 0.75 * 0.6 / (0.75 + 0.6))
    assert scores["accuracy"] == pytest.approx(7 / 10)
    assert scores["false_refusal_rate"] == pytest.approx(1 / 5)


def test_refusal_scores_without_unanswerable_rows_are_not_applicable():
    scores = refusal_scores(refusal_counts([(False, True), (False, False)]))
    assert scores["precision"] is None and scores["recall"] is None and scores["f1"] is None
    assert scores["false_refusal_rate"] == pytest.approx(0.5)


def test_refusal_never_refusing_scores_zero_not_none():
    scores = refusal_scores(refusal_counts([(True, False), (False, False)]))
    assert scores["precision"] == 0.0 and scores["recall"] == 0.0 and scores["f1"] == 0.0


# --- answers ---------------------------------------------------------------------------------------


def test_key_fact_recall_is_case_and_whitespace_insensitive_share():
    answer = "Here's what the lesson says: Try  PROMPT engineering first. [1] Then RAG. [2]"
    assert key_fact_recall(answer, ["try prompt engineering first", "try RAG second"]) == pytest.approx(0.5)
    assert key_fact_recall(answer, ["fine-tune", "LoRA"]) == 0.0
    assert key_fact_recall(answer, []) is None


def test_key_fact_recall_any_mode_for_alternative_annotations():
    assert key_fact_recall("It was Kublai Khan. [1]", ["Kublai", "Genghis Khan"], mode="any") == 1.0
    assert key_fact_recall("It was Ögedei. [1]", ["Kublai", "Genghis Khan"], mode="any") == 0.0


def test_markers_never_count_as_answer_text():
    assert strip_markers("A [1]. B [2, 3]") == "A. B"
    assert key_fact_recall("chunk [12]", ["chunk 12"]) == 0.0


def test_token_f1_squad_normalization():
    assert squad_normalize("The  Great, Yuan!") == "great yuan"
    assert token_f1("the Great Yuan", ["Great Yuan"]) == 1.0
    # pred: great yuan dynasty (3), gold: great yuan (2): P=2/3, R=1 → F1=0.8
    assert token_f1("Great Yuan dynasty [1]", ["the Great Yuan"]) == pytest.approx(0.8)
    assert token_f1("Kublai", ["Genghis", "Kublai Khan"]) == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert token_f1("", ["x"]) == 0.0 and token_f1("x", []) == 0.0


# --- retrieval -------------------------------------------------------------------------------------


def test_recall_and_mrr_on_lesson_rankings():
    ranking = dedupe(["b", "b", "a", "c", "a", "d"])
    assert ranking == ["b", "a", "c", "d"]
    assert recall_at_k(ranking, ["a"], 1) == 0.0
    assert recall_at_k(ranking, ["a"], 5) == 1.0
    assert recall_at_k(ranking, ["a", "z"], 5) == 0.5
    assert reciprocal_rank(ranking, ["a"]) == 0.5
    assert reciprocal_rank(ranking, ["c", "d"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranking, ["z"]) == 0.0
    assert recall_at_k(ranking, [], 5) is None and reciprocal_rank(ranking, []) is None


def test_ndcg_binary_and_graded():
    assert ndcg_at_k(["a", "x"], {"a": 1.0}) == 1.0
    # one relevant doc at rank 2: DCG = 1/log2(3), ideal = 1
    assert ndcg_at_k(["x", "a"], {"a": 1.0}) == pytest.approx(1 / math.log2(3))
    # graded: gains 2 (b) and 1 (a); ranking a, b → (1 + 2/log2 3) / (2 + 1/log2 3)
    expected = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert ndcg_at_k(["a", "b"], {"a": 1.0, "b": 2.0}) == pytest.approx(expected)
    assert ndcg_at_k(["x"] * 10 + ["a"], {"a": 1.0}, k=10) == 0.0
    assert ndcg_at_k(["a"], {}) is None


def test_fact_coverage_of_retrieved_passages():
    assert fact_coverage(["Alpha beta.", "Gamma  DELTA"], ["gamma delta", "omega"]) == 0.5
    assert fact_coverage([], ["x"], mode="any") == 0.0


# --- grounding -------------------------------------------------------------------------------------

LESSON = "# Intro\nRAG changes what the model can access. Fine-tuning changes the weights."
CHUNK = LESSON[8:]  # the chunk starts after the heading


def test_citation_validity_checks_chunk_and_lesson_span():
    start = LESSON.index("RAG")
    quote = "RAG changes what the model can access."
    assert citation_problem(quote, start, start + len(quote), CHUNK, LESSON) is None
    assert "lesson_text[start:end]" in citation_problem(quote, start + 1, start + 1 + len(quote), CHUNK, LESSON)
    assert "verbatim" in citation_problem("RAG changes the weights.", start, start + 24, CHUNK, LESSON)
    assert "not in the index" in citation_problem(quote, start, start + len(quote), None, LESSON)
    assert citation_problem("", 0, 0, CHUNK, LESSON) == "empty quote"


class _WordSupport:
    """Supported when every word of the claim occurs in the evidence (a stand-in for the SupportScorer)."""

    def supported(self, claim: str, evidence: str) -> bool:
        words = strip_markers(claim).lower().replace(".", "").split()
        return all(w in evidence.lower() for w in words)


def test_grounding_checker_counts_valid_citations_and_supported_sentences():
    start = LESSON.index("RAG")
    good = Citation(1, "intro", "intro#0", "Intro", "RAG changes what the model can access.", start, start + 38)
    bad = Citation(2, "intro", "intro#0", "Intro", "Fine-tuning changes everything.", 0, 10)
    answer = Answer(
        answer="Lead: RAG changes what the model can access. [1] Fine-tuning changes everything. [2] "
        "Uncited sentence here.",
        refused=False,
        citations=[good, bad],
    )
    checker = GroundingChecker(lambda lid: LESSON, lambda lid, cid: CHUNK, _WordSupport(), lead="Lead: ")
    result = checker.check(answer)
    assert (result.citations, result.valid) == (2, 1)
    assert result.problems[0]["n"] == 2
    # the second sentence is supported by its (invalid) quote: validity and support are separate checks
    assert (result.sentences, result.supported) == (3, 2)
    assert result.unsupported == ["Uncited sentence here."]
    assert checker.check(Answer(answer="I can't find that.", refused=True)).citations == 0


def test_answer_claims_keep_their_markers():
    claims = answer_claims(
        "Here's what the lesson says: A is so. [1] B is too. C holds [2, 3]", "Here's what the lesson says: "
    )
    # a run of sentences is cited by the marker that closes it, as a multi-sentence quote is
    assert claims == [("A is so.", [1]), ("B is too.", [2, 3]), ("C holds", [2, 3])]


# --- latency, summary, thresholds, README ----------------------------------------------------------


def test_percentile_matches_linear_interpolation():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)
    assert percentile([], 50) is None


def _record(answerable: bool, refused: bool, total: float, facts: float | None = None) -> dict:
    return {
        "id": "x",
        "category": "",
        "answerable": answerable,
        "refused": refused,
        "latency_ms": {"retrieve": total / 2, "total": total},
        "metrics": {
            "decision_correct": refused != answerable,
            "recall@1": 1.0 if answerable else None,
            "recall@5": 1.0 if answerable else None,
            "rr": 1.0 if answerable else None,
            "ndcg@10": None,
            "chunk_recall@10": None,
            "context_recall": None,
            "key_fact_recall": facts,
            "token_f1": None,
            "citations": 0 if refused else 1,
            "valid_citations": 0 if refused else 1,
            "sentences": 0 if refused else 2,
            "supported_sentences": 0 if refused else 1,
        },
    }


def test_summarize_builds_the_json_shape():
    records = [_record(True, False, 100, 1.0), _record(True, True, 300, 0.0), _record(False, True, 50)]
    s = summarize(records)
    assert (s["n"], s["answerable"], s["unanswerable"]) == (3, 2, 1)
    assert s["refusal"]["precision"] == 0.5 and s["refusal"]["recall"] == 1.0
    assert s["grounding"] == {
        "citation_validity": 1.0,
        "supported_rate": 0.5,
        "llm_judge_supported_rate": None,
        "citations": 1,
        "sentences": 2,
    }
    assert s["answer"]["key_fact_recall"] == 0.5 and s["answer"]["key_fact_recall_answered"] == 1.0
    assert s["latency_ms"]["p50"] == 100 and s["latency_ms"]["stages"]["retrieve"]["p50"] == 50


def test_check_lists_every_metric_below_threshold():
    result = {
        "suite": "s",
        "retrieval": {"recall@1": 0.5},
        "refusal": {"f1": None},
        "grounding": {"citation_validity": 1.0},
        "latency_ms": {"p95": 900.0},
    }
    failures = check(
        result, {"recall_at_1": 0.6, "citation_validity": 1.0, "refusal_f1": 0.1, "latency_p95_ms": 500, "nonsense": 1}
    )
    text = "\n".join(failures)
    assert "recall_at_1: 0.5000 < 0.6" in text
    assert "refusal_f1: not measured" in text
    assert "latency_p95_ms" in text and "lower is better" in text
    assert "nonsense: unknown metric" in text
    assert not any(line.startswith("citation_validity") for line in failures)


def test_headline_formatting_and_direction():
    assert fmt(BY_NAME["recall_at_1"], 0.1234) == "12.3%"
    assert fmt(BY_NAME["latency_p95_ms"], 1234.4) == "1,234"
    assert fmt_delta(BY_NAME["recall_at_1"], 0.5, 0.25) == "+25.0 pp"
    assert better(BY_NAME["latency_p50_ms"], 100, 200) == 1
    assert better(BY_NAME["false_refusal_rate"], 0.3, 0.0) == -1


def test_readme_table_renders_saved_results(tmp_path):
    saved = {
        "suite": "seed",
        "n": 2,
        "retrieval": {"recall@1": 0.5},
        "refusal": {"f1": 0.75},
        "latency_ms": {"p50": 12.0},
        "baseline": {"n": 2, "retrieval": {"recall@1": 0.25}, "refusal": {"f1": 0}},
    }
    (tmp_path / "seed.json").write_text(json.dumps(saved))
    (tmp_path / "gate_calibration.json").write_text(json.dumps({"tune": {}}))
    table = results_markdown(tmp_path)
    assert "| seed | tutor | 2 | 50.0% |" in table
    assert "| seed | naive RAG | 2 | 25.0% |" in table
    assert "gate_calibration" not in table
    assert "No eval results" in results_markdown(tmp_path / "empty")


# --- datasets --------------------------------------------------------------------------------------


def test_dataset_errors_name_the_line(tmp_path):
    path = tmp_path / "q.jsonl"
    good = {"id": "a", "question": "Q?", "answerable": True, "key_facts": ["x"]}
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({"id": "b", "question": "Q?", "answerable": True}) + "\n")
    with pytest.raises(DatasetError, match=r"q\.jsonl:3: answerable rows need `key_facts`"):
        load_rows(path)
    path.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(DatasetError, match=r":2: not valid JSON"):
        load_rows(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(DatasetError, match=r":2: duplicate id 'a' \(first on line 1\)"):
        load_rows(path)
    path.write_text(json.dumps({"id": "c", "question": "Q?", "answerable": False, "key_facts": ["x"]}) + "\n")
    with pytest.raises(DatasetError, match="must not set `key_facts`"):
        load_rows(path)


def test_shipped_datasets_load():
    from evals.datasets import SUITES

    for name in ("seed", "mlfb", "squad2"):
        rows = load_rows(SUITES[name].dataset)
        assert rows and all(r.question for r in rows)
    assert len(load_rows(SUITES["seed"].dataset, limit=5)) == 5
