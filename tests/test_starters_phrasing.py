"""Starter phrasing: questions read as a learner would ask them, skip course furniture, and are distinct.

The lessons here are written for these tests (not the bundled corpus), so the rules are checked on
structure any lesson can have: term headings, question headings, instructional headings, definitions,
bold terms, list lead-ins and "what you will learn" outlines.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tutor.ingest.lessons import markdown_sections
from tutor.serve.starters import (
    Phrasing,
    StarterQuestions,
    candidate_questions,
    definition_question,
    heading_questions,
    lead_in_question,
    restates,
    similar,
    what_is,
)
from tutor.store.chroma import LessonRecord

CLUSTERING = """# Partitioning data into groups

Grouping points is a common first look at unlabelled data.

## Pre-lecture quiz

Take the quiz first.

## Introduction

Terms you will learn about:

- Elbow method
- Inertia

Partitioning divides points into groups around a centre. One drawback is that you must choose the number
of groups. Fortunately the elbow method helps to estimate a good starting value. Inertia measures how far
points lie from their centre, and the elbow method plots inertia for each choice.

## Elbow method

Plot inertia against the number of groups and look for the bend.

## Inertia

Inertia is the sum of squared distances of points to their centre.

## Variance

Variance is defined as the average of the squared differences from the mean.

## How is the number of groups chosen?

Try several values and compare the inertia of each.

## Split your dataset

Keep a part of the data aside to check the groups.

## Voronoi diagrams

The groups can be drawn as Voronoi diagrams around each centre.

## Summary

Partitioning is quick. Inertia falls as groups are added.

## Assignment

Cluster another dataset.

## Review & Self Study

Read more about partitioning.
"""


def lesson(text: str, lesson_id: str = "lesson") -> LessonRecord:
    return LessonRecord(
        id=lesson_id,
        title=text.splitlines()[0].lstrip("# "),
        course="Course",
        chunks=1,
        index_hash="",
        path="",
        source="",
        text=text,
        sections=markdown_sections(text),
    )


def questions(text: str) -> list[str]:
    return [c.question for c in candidate_questions(lesson(text))]


def test_articles_follow_the_lessons_own_usage_then_the_noun():
    found = questions(CLUSTERING)
    assert "What is the elbow method?" in found  # the lesson writes "the elbow method"
    assert "What is elbow method?" not in found
    assert "What is inertia?" in found  # a mass noun the lesson uses bare
    assert "What is variance?" in found  # "Variance is defined as …"
    assert "What are Voronoi diagrams?" in found  # a plural and a name the lesson capitalises mid-sentence
    phrasing = Phrasing("We ran K-Means clustering on the songs. K-Means clustering groups songs.")
    assert what_is("K-Means clustering", phrasing) == "What is K-Means clustering?"
    silent = Phrasing("")
    assert what_is("Confusion matrix", silent) == "What is the confusion matrix?"  # countable: an article
    assert what_is("Logistic regression", silent) == "What is logistic regression?"  # mass: none
    assert what_is("Ensemble Classifiers", silent) == "What are ensemble classifiers?"
    assert what_is("Types of regression", silent) == "What are the types of regression?"


def test_question_headings_are_kept_and_instructions_become_how_questions():
    found = questions(CLUSTERING)
    assert found[0] == "How is the number of groups chosen?"  # already a question: used as written
    assert "How do I split my dataset?" in found  # addressed to the learner, asked by the learner
    assert heading_questions("Building a model", "") == [("How do I build a model?", 3)]
    assert heading_questions("Clustering algorithms", "")[0][0] == "What are clustering algorithms?"
    assert heading_questions("What AI cannot do", "")[0][0] == "What can't AI do?"
    assert heading_questions("What you need", "")[0][0] == "What do I need?"
    assert heading_questions("How to tune a model", "")[0][0] == "How do I tune a model?"
    assert heading_questions("Why it matters", "Gradient boosting")[0][0] == "Why does gradient boosting matter?"


@pytest.mark.parametrize(
    "heading",
    [
        "Introduction",
        "Pre-lecture quiz",
        "Assignment",
        "Review & Self Study",
        "🚀 Challenge",
        "Credits",
        "Outcomes",
        "Learning objectives",
        "Summary",
        "Conclusion",
        "Prerequisites",
        "Prerequisites and setup",
        "The premise",
        "Now",
    ],
)
def test_boilerplate_headings_ask_nothing(heading):
    assert heading_questions(heading, "Topic") == []


def test_furniture_sections_give_nothing_and_boilerplate_is_never_asked():
    found = questions(CLUSTERING)
    joined = " ".join(found).lower()
    for word in ("introduction", "summary", "assignment", "quiz", "review", "cluster another"):
        assert word not in joined, (word, found)


def test_no_starter_restates_the_title_and_none_are_alike():
    found = questions(CLUSTERING)
    assert not any("partitioning" in q.lower() and "data into groups" in q.lower() for q in found)
    assert not any(similar(a, b) for i, a in enumerate(found) for b in found[i + 1 :]), found
    assert restates("Why does fine-tuning vs prompting matter?", "Fine-tuning vs prompting")
    assert restates("What is the fine-tuning vs prompting choice?", "Fine-tuning vs prompting")
    assert restates("What is machine learning?", "Introduction to machine learning")
    assert not restates("What is fine-tuning?", "Fine-tuning vs prompting")  # one side of the comparison
    assert not restates("What are the applications of machine learning?", "Introduction to machine learning")
    assert similar("What is the elbow method?", "How do I use the elbow method?")
    assert not similar("What is linear regression?", "What is polynomial regression?")


def test_definitions_bold_terms_lead_ins_and_outlines():
    assert definition_question("The **elbow method** is a way to pick k.") == "What is the elbow method?"
    assert definition_question("A friend at a pinch is a friend indeed.") is None  # a clause, not a term
    assert definition_question("Building ML systems is an important part of the job.") is None
    assert definition_question("1957 Perceptron is a type of linear classifier.") == "What is perceptron?"
    assert lead_in_question("There are three types of learning:") == "What are the three types of learning?"
    assert lead_in_question("The main harms can be classified as:") == "What are the main harms?"
    assert (
        lead_in_question("To prevent bias in the first place, we should:")
        == "How can I prevent bias in the first place?"
    )
    assert lead_in_question("Some of these machines include:") is None  # points back at unseen text
    text = """# Boosting

## Weak learners

- **Stump**. A tree with one split.
- **Shrinkage**: scaling each new tree down.

Stumps are weak. Shrinkage slows learning.

## What you will learn

- How to tune the learning rate
- Why shallow trees work well, not deep ones, for boosting
- Stochastic gradient descent (SGD)
"""
    found = questions(text)
    assert "What is shrinkage?" in found
    assert "How do I tune the learning rate?" in found
    assert "Why do shallow trees work well for boosting?" in found  # the aside ", not deep ones," dropped
    assert not any("stochastic" in q.lower() for q in found)  # named in the outline only, never explained


def test_verification_keeps_answered_distinct_questions_one_per_section():
    from tests.test_starters import FakeTutor

    record = lesson(CLUSTERING)
    tutor = FakeTutor({"lesson": record}, knows=("elbow", "variance", "inertia", "split"))
    found = StarterQuestions(tutor).for_lesson("lesson", n=3)
    assert len(found) == 3
    assert all(any(k in q.lower() for k in ("elbow", "variance", "inertia", "split")) for q in found)
    assert not any(similar(a, b) for i, a in enumerate(found) for b in found[i + 1 :])
    assert len(tutor.asked) <= 12  # a bounded number of candidates is tried


MLFB = Path(__file__).resolve().parents[1] / "corpus" / "ml-for-beginners"


@pytest.fixture(scope="module")
def mlfb_tutor(tmp_path_factory):
    """The real tutor over three bundled ML-for-Beginners lessons (ingested once for this module)."""
    from tutor.pipeline import Tutor
    from tutor.settings import Settings

    root = tmp_path_factory.mktemp("mlfb-starters")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in ("mlfb-08-logistic.md", "mlfb-15-k-means.md", "mlfb-17-tasks.md"):
        shutil.copy(MLFB / name, corpus / name)
    tutor = Tutor.from_settings(Settings.from_env(env={}, home=root / "home", corpus=(corpus,)))
    tutor.ingest()
    return tutor


@pytest.mark.slow
def test_bundled_lesson_starters_are_natural_distinct_and_answered(mlfb_tutor):
    starters = StarterQuestions(mlfb_tutor)
    for record in mlfb_tutor.lessons():
        found = starters.for_lesson(record.id, n=3)
        assert len(found) == 3, (record.id, found)
        assert not any(restates(q, record.title) for q in found), (record.id, found)
        assert not any(similar(a, b) for i, a in enumerate(found) for b in found[i + 1 :]), found
        assert all(q.endswith("?") and q[0].isupper() for q in found)
        for question in found:  # the same ask flow a learner's click goes through
            answer = mlfb_tutor.ask(question, lesson_id=record.id)
            assert not answer.refused and answer.citations, (record.id, question)
    k_means = starters.for_lesson("mlfb-15-k-means", n=3)
    assert "What is the elbow method?" in k_means and "What is elbow method?" not in k_means
