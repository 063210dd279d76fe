"""Per-category metrics and the "restated" metric, each checked on small hand-made rows worked by hand."""

from __future__ import annotations

import pytest

from evals.console import category_grid, format_table
from evals.datasets import EvalRow
from evals.grounding import GroundingResult
from evals.metrics import restates_question
from evals.report import render_markdown
from evals.scoring import by_category, category_comparison, reported_metrics, score_row, summarize
from tutor.answer import Answer, Citation

# --- restates_question ---------------------------------------------------------------------------


def test_a_heading_that_echoes_the_question_is_a_restatement():
    # question stems {fine-, teach, model, new, fact}; the quote adds nothing
    assert restates_question(
        ["Can fine-tuning teach the model new facts?"], ["Fine-tuning to teach the model new facts."]
    )


def test_two_of_three_quoted_words_asked_is_a_restatement_one_of_four_is_not():
    # quote stems {expla, fine-, good}: fine- and good were asked -> 2/3
    assert restates_question(
        ["What is fine-tuning actually good for?"], ["Explain what fine-tuning is and is not good for."]
    )
    # quote stems {learn, fairn, harm} against {kind, fairn, harm}: a learning objective, 2/3
    assert restates_question(
        ["What kinds of fairness-related harms are there?"], ["Learn about fairness-related harms."]
    )
    # quote stems {fine-, shape, behav, style}: only fine- was asked -> 1/4
    assert not restates_question(["What is fine-tuning actually good for?"], ["Fine-tuning shapes behavior and style."])


def test_an_explanation_that_repeats_the_question_words_is_not_a_restatement():
    question = ["How does k-means clustering work?"]
    quoted = [
        "The K-Means clustering process executes in a three-step process:",
        "It assigns each sample to the nearest centroid.",
        "It creates new centroids by taking the mean value of all of the samples.",
    ]
    assert not restates_question(question, quoted)


def test_restatement_uses_every_question_text_and_ignores_markers():
    # the follow-up alone shares nothing with the quote; its standalone rewrite does
    quote = ["The three steps of k-means. [2]"]
    assert not restates_question(["What are they?"], quote)
    assert restates_question(["What are they?", "What are the three steps of k-means?"], quote)


def test_an_answer_without_content_words_is_not_counted():
    assert not restates_question(["What is it?"], ["[1]", ""])
    assert not restates_question(["What is it?"], [])


def test_the_share_is_a_parameter():
    # quote stems {expla, fine-, fine, tunin, good}: 4 of 5 asked, no longer a restatement under a stricter share
    question, quote = ["What is fine-tuning actually good for?"], ["Explain what fine-tuning is and is not good for."]
    assert not restates_question(question, quote, share=0.9)
    assert restates_question(question, quote, share=0.5)


# --- score_row -----------------------------------------------------------------------------------


def _row(
    category: str, answerable: bool = True, question: str = "Can fine-tuning teach the model new facts?"
) -> EvalRow:
    return EvalRow(
        id=f"r-{category}",
        question=question,
        answerable=answerable,
        lesson_id="l",
        reference="No.",
        key_facts=("poor and expensive way",) if answerable else (),
        gold_lessons=("l",) if answerable else (),
        category=category,
    )


def _answer(text: str, quotes: list[str], refused: bool = False, standalone: str = "") -> Answer:
    citations = [
        Citation(n=i + 1, lesson_id="l", chunk_id="l#0", section="", quote=q, start=0, end=len(q))
        for i, q in enumerate(quotes)
    ]
    return Answer(answer=text, refused=refused, citations=citations, standalone_question=standalone)


def test_score_row_marks_restated_from_the_quotes():
    restating = _answer(
        "Here's what the lesson says: Fine-tuning to teach the model new facts. [1]",
        ["Fine-tuning to teach the model new facts."],
    )
    record = score_row(_row("why"), restating, [], GroundingResult())
    assert record["metrics"]["restated"] is True
    assert record["metrics"]["key_fact_recall"] == 0.0

    answering = _answer(
        "It is a poor and expensive way to inject knowledge. [1]",
        ["it is a poor and expensive way to inject knowledge, which also goes stale."],
    )
    record = score_row(_row("why"), answering, [], GroundingResult())
    assert record["metrics"]["restated"] is False
    assert record["metrics"]["key_fact_recall"] == 1.0


def test_score_row_without_citations_reads_the_answer_sentences():
    framed = _answer("Under “Common pitfall”: Fine-tuning to teach the model new facts.", [])
    assert score_row(_row("why"), framed, [], GroundingResult())["metrics"]["restated"] is True


def test_restated_does_not_apply_to_refusals_or_unanswerable_rows():
    refused = _answer("The lesson doesn't cover that.", [], refused=True)
    assert score_row(_row("why"), refused, [], GroundingResult())["metrics"]["restated"] is None
    answered = _answer("Fine-tuning to teach the model new facts. [1]", ["Fine-tuning to teach the model new facts."])
    assert (
        score_row(_row("near_miss", answerable=False), answered, [], GroundingResult())["metrics"]["restated"] is None
    )


# --- by_category and the summary -----------------------------------------------------------------


def _record(
    category: str, answerable: bool, refused: bool, facts: float | None = None, restated: bool | None = None
) -> dict:
    return {
        "id": category,
        "category": category,
        "answerable": answerable,
        "refused": refused,
        "latency_ms": {"total": 10.0},
        "metrics": {
            "decision_correct": refused != answerable,
            "recall@1": None,
            "recall@5": None,
            "rr": None,
            "ndcg@10": None,
            "chunk_recall@10": None,
            "context_recall": None,
            "key_fact_recall": facts if answerable else None,
            "token_f1": None,
            "restated": restated,
            "citations": 0,
            "valid_citations": 0,
            "sentences": 0,
            "supported_sentences": 0,
        },
    }


PROJECT = [
    _record("how", True, False, 1.0, False),
    _record("how", True, False, 0.5, True),
    _record("how", True, True, 0.0),  # refused: facts count as 0, restated does not apply
    _record("near_miss", False, True),
    _record("near_miss", False, False),
    _record("", True, False, 1.0, False),
]
BASELINE = [
    _record("how", True, False, 1.0, True),
    _record("how", True, False, 1.0, True),
    _record("how", True, False, 0.0, False),
    _record("near_miss", False, False),
    _record("near_miss", False, False),
    _record("", True, False, 0.0, True),
]


def test_by_category_refused_facts_and_restated_per_slice():
    cats = by_category(PROJECT)
    assert list(cats) == ["answerable", "how", "near_miss"]  # an empty category falls back to answerable
    how = cats["how"]
    assert (how["n"], how["answerable"]) == (3, 3)
    assert how["refused_rate"] == pytest.approx(1 / 3)
    assert how["correct_rate"] == pytest.approx(2 / 3)
    assert how["key_fact_recall"] == pytest.approx(0.5)  # (1 + 0.5 + 0) / 3
    assert how["restated"] == pytest.approx(0.5)  # 1 of the 2 answered
    near = cats["near_miss"]
    assert (near["refused_rate"], near["correct_rate"]) == (0.5, 0.5)
    assert near["key_fact_recall"] is None and near["restated"] is None


def test_summary_reports_restated_over_answered_answerable_rows():
    s = summarize(PROJECT)
    assert s["answer"]["restated"] == pytest.approx(1 / 3)  # 1 of the 3 answered answerable rows
    assert summarize(BASELINE)["answer"]["restated"] == pytest.approx(3 / 4)


def _result() -> dict:
    return {"suite": "t", **summarize(PROJECT), "baseline": {"suite": "t", **summarize(BASELINE)}}


def test_category_comparison_puts_the_baseline_beside_each_category():
    rows = {r["category"]: r for r in category_comparison(_result())}
    assert rows["how"]["project"] == {
        "refused_rate": pytest.approx(1 / 3),
        "key_fact_recall": pytest.approx(0.5),
        "restated": pytest.approx(0.5),
    }
    assert rows["how"]["baseline"] == {
        "refused_rate": 0.0,
        "key_fact_recall": pytest.approx(2 / 3),
        "restated": pytest.approx(2 / 3),
    }
    alone = {"suite": "t", **summarize(PROJECT), "baseline": None}
    assert all(r["baseline"] is None for r in category_comparison(alone))


def test_console_and_report_show_the_category_table_and_restated_row():
    header, cells = category_grid(_result())
    assert header == ["category", "n", "refused", "refused naive", "facts", "facts naive", "restated", "restated naive"]
    assert ["how", "3", "33.3%", "0.0%", "50.0%", "66.7%", "50.0%", "66.7%"] in cells
    assert ["near_miss", "2", "50.0%", "0.0%", "—", "—", "—", "—"] in cells
    table = format_table(_result())
    assert "answers that only restate the question" in table and "restated naive" in table
    names = [m.name for m in reported_metrics([_result()])]
    assert names.index("restated") == names.index("key_fact_recall") + 1  # token F1 is not measured here
    markdown = render_markdown(_result(), {}, [])
    assert "## By category" in markdown and "| how | 3 | 33.3% | 0.0% | 50.0% | 66.7% | 50.0% | 66.7% |" in markdown
