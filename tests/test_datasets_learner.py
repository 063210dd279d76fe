"""The hand-written learner suite: it loads, covers every category, and its key facts really are lesson text.

A key fact that is not verbatim in its lesson can never be found in a grounded answer, so it would score
a correct answer as a miss; these checks keep the file honest as lessons or rows change.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

import pytest

from evals.datasets import SUITES, EvalRow, load_rows
from tutor.ingest.lessons import Lesson, find_lesson_files, load_lesson
from tutor.settings import bundled_corpus

SUITE = SUITES["learner"]
# the minimum rows per category the suite promises (evals/datasets/README.md)
MINIMUMS = {
    "definition": 10,
    "how": 10,
    "why": 10,
    "list": 10,
    "when": 8,
    "compare": 8,
    "followup": 8,
    "false_premise": 6,
    "near_miss": 6,
    "off_topic": 5,
    "injection": 5,
}
UNANSWERABLE = {"false_premise", "near_miss", "off_topic", "injection"}
MARKUP = re.compile(r"[*_`\[\]<>|#]")


@cache
def rows() -> tuple[EvalRow, ...]:
    return tuple(load_rows(SUITE.dataset))


@cache
def lessons() -> dict[str, Lesson]:
    found = {}
    for root in SUITE.corpus:
        for path in find_lesson_files([root]):
            lesson = load_lesson(path, root)
            found[lesson.id] = lesson
    return found


def _loose(text: str) -> str:
    return " ".join(text.lower().split())


def test_learner_suite_is_registered_over_the_bundled_corpus():
    assert SUITE.dataset.name == "learner.jsonl" and SUITE.kind == "qa" and SUITE.key_fact_mode == "all"
    assert SUITE.corpus == (bundled_corpus(),)
    assert (bundled_corpus() / "seeds").is_dir() and (bundled_corpus() / "ml-for-beginners").is_dir()


def test_learner_file_validates_with_unique_ids():
    loaded = rows()
    assert len(loaded) >= 90
    assert len({r.id for r in loaded}) == len(loaded)
    assert all(r.id.startswith("learner-") for r in loaded)


def test_every_category_has_its_minimum_and_no_other_category_exists():
    counts = Counter(r.category for r in rows())
    assert set(counts) == set(MINIMUMS)
    short = {name: counts[name] for name, least in MINIMUMS.items() if counts[name] < least}
    assert not short, f"categories below their minimum: {short}"


def test_answerability_follows_the_category():
    for row in rows():
        assert row.answerable == (row.category not in UNANSWERABLE), row.id
        if row.answerable:
            assert row.reference and 1 <= len(row.key_facts) <= 3, row.id
            assert row.gold_lessons == (row.lesson_id,), row.id
        elif row.category in ("false_premise", "near_miss"):
            assert row.gold_lessons == (row.lesson_id,), row.id  # on topic: the lesson it was written against
        else:
            assert not row.gold_lessons, row.id


def test_false_premise_rows_ask_whether_the_lesson_says_something():
    for row in rows():
        if row.category == "false_premise":
            assert re.match(r"(does|is it true)\b", row.question, re.IGNORECASE), row.id
            assert re.search(r"\b(lesson|it) (say|recommend)", row.question, re.IGNORECASE), row.id


def test_followups_carry_a_two_turn_history_and_others_none():
    for row in rows():
        if row.category == "followup":
            assert [t["role"] for t in row.history] == ["user", "assistant"], row.id
            assert all(t["content"].strip() for t in row.history), row.id
        else:
            assert not row.history, row.id


def test_every_row_is_scoped_to_a_bundled_lesson_and_the_spread_is_wide():
    known = lessons()
    for row in rows():
        assert row.lesson_id in known, f"{row.id}: unknown lesson {row.lesson_id!r}"
    used = {r.lesson_id for r in rows()}
    seeds = {i for i in used if not i.startswith("mlfb-")}
    mlfb = {i for i in used if i.startswith("mlfb-")}
    assert seeds == {i for i in known if not i.startswith("mlfb-")}  # all 4 seed lessons
    assert len(mlfb) >= 12


@pytest.mark.parametrize("row", [r for r in rows() if r.answerable], ids=lambda r: r.id)
def test_key_facts_are_verbatim_plain_lesson_text(row: EvalRow):
    text = _loose(lessons()[row.lesson_id].text)
    for fact in row.key_facts:
        assert fact.isascii() and not MARKUP.search(fact), f"{row.id}: {fact!r} has markup or non-ASCII text"
        assert len(fact.split()) <= 12, f"{row.id}: {fact!r} is not a short phrase"
        assert _loose(fact) in text, f"{row.id}: key fact {fact!r} is not in {row.lesson_id}"


def test_questions_are_not_copied_from_the_lesson():
    """A learner's wording, not a lesson sentence: no question is a verbatim run of 8+ words of its lesson."""
    for row in rows():
        words = re.findall(r"[a-z0-9']+", row.question.lower())
        text = " ".join(re.findall(r"[a-z0-9']+", lessons()[row.lesson_id].text.lower()))
        runs = [" ".join(words[i : i + 8]) for i in range(len(words) - 7)]
        assert not any(run in text for run in runs), row.id
