"""Starter questions: built from any lesson's structure, kept only when the tutor really answers them."""

from __future__ import annotations

import threading
import time

import pytest

from tutor.ingest.lessons import markdown_sections
from tutor.serve.starters import (
    StarterQuestions,
    candidate_questions,
    clean_heading,
    definition_question,
    restates,
    similar,
)
from tutor.store.chroma import LessonRecord

LESSON_MD = """# Photosynthesis basics

How plants turn light into sugar.

## What is chlorophyll?

Chlorophyll is the green pigment that absorbs light.

## Why it matters

Without photosynthesis there would be no oxygen to breathe.

## Light reactions

The light reactions happen in the thylakoid membranes.

## Measure the rate of photosynthesis

Count the bubbles of oxygen a pondweed gives off each minute.

## 🚀 Challenge

Draw a leaf.

## [Post-lecture quiz](https://example.com/quiz)
"""


def make_lesson(text: str = LESSON_MD, lesson_id: str = "photo") -> LessonRecord:
    return LessonRecord(
        id=lesson_id,
        title=text.splitlines()[0].lstrip("# "),
        course="Biology",
        chunks=3,
        index_hash="",
        path="",
        source="",
        text=text,
        sections=markdown_sections(text),
    )


class FakeTutor:
    """Answers only questions containing one of `knows`; counts asks."""

    def __init__(self, lessons: dict[str, LessonRecord], knows: tuple[str, ...], delay: float = 0.0) -> None:
        self.lessons = lessons
        self.knows = knows
        self.delay = delay
        self.asked: list[tuple[str, str | None]] = []

    def lesson(self, lesson_id: str) -> LessonRecord | None:
        return self.lessons.get(lesson_id)

    def answers(self, question, lesson_id):
        time.sleep(self.delay)
        self.asked.append((question, lesson_id))
        return any(k in question.lower() for k in self.knows)


def test_candidates_come_from_headings_and_first_sentences():
    questions = [c.question for c in candidate_questions(make_lesson())]
    assert questions[0] == "What is chlorophyll?"  # a heading that is already a question goes first
    assert "What are light reactions?" in questions
    assert "How do I measure the rate of photosynthesis?" in questions
    assert not any("challenge" in q.lower() or "quiz" in q.lower() for q in questions)  # course furniture
    assert not any("photosynthesis basics" in q.lower() for q in questions)  # restates the title
    assert len(questions) == len({q.lower() for q in questions})
    assert all(q.endswith("?") and q[0].isupper() for q in questions)


def test_heading_and_sentence_rewrites():
    assert clean_heading("🚀 2. Train a model:") == "Train a model"
    assert definition_question("Gradient descent is a way to find a minimum.") == "What is gradient descent?"
    assert definition_question("It is a way to find a minimum.") is None
    assert definition_question("Since color is a category, we use a bar chart.") is None
    lesson = make_lesson("# Tools\n\n## Retrieval Augmented Generation\n\nRAG fetches passages first.\n")
    assert "What is retrieval augmented generation?" in [c.question for c in candidate_questions(lesson)]
    lesson = make_lesson("# Intro\n\n## RAG\n\nRAG fetches passages first.\n")
    assert "What is RAG?" in [c.question for c in candidate_questions(lesson)]


def test_keeps_only_answered_and_caches():
    tutor = FakeTutor({"photo": make_lesson()}, knows=("chlorophyll", "light reactions"))
    starters = StarterQuestions(tutor)
    found = starters.for_lesson("photo", n=3)
    assert found == ["What is chlorophyll?", "What are light reactions?"]
    asked = len(tutor.asked)
    assert all(lesson_id == "photo" for _, lesson_id in tutor.asked)
    assert starters.for_lesson("photo", n=2) == found[:2]
    assert len(tutor.asked) == asked  # cached: no second round of asks
    assert starters.cached("photo") == found


def test_stops_at_n_and_at_max_checks():
    tutor = FakeTutor({"photo": make_lesson()}, knows=("?",))  # answers everything
    assert len(StarterQuestions(tutor).for_lesson("photo", n=2)) == 2
    assert len(tutor.asked) == 2
    never = FakeTutor({"photo": make_lesson()}, knows=())
    assert StarterQuestions(never, max_checks=2).for_lesson("photo") == []
    assert len(never.asked) == 2


def test_unknown_lesson_and_failing_ask():
    class Broken(FakeTutor):
        def answers(self, *args, **kwargs):
            raise RuntimeError("boom")

    assert StarterQuestions(FakeTutor({}, knows=("?",))).for_lesson("nope") == []
    assert StarterQuestions(Broken({"photo": make_lesson()}, knows=())).for_lesson("photo") == []


def test_concurrent_callers_compute_once_and_warm_in_background():
    tutor = FakeTutor({"photo": make_lesson()}, knows=("chlorophyll",), delay=0.01)
    starters = StarterQuestions(tutor)
    thread = starters.warm("photo")
    results: list[list[str]] = []
    others = [threading.Thread(target=lambda: results.append(starters.for_lesson("photo"))) for _ in range(4)]
    for t in others:
        t.start()
    for t in [thread, *others]:
        t.join(timeout=30)
    assert results == [["What is chlorophyll?"]] * 4
    asked = [q for q, _ in tutor.asked]
    assert len(asked) == len(set(asked))  # nobody repeated the work


@pytest.mark.slow
def test_real_tutor_starters_are_answered(seed_tutor):
    starters = StarterQuestions(seed_tutor)
    for record in seed_tutor.lessons():
        questions = starters.for_lesson(record.id, n=3)
        assert questions, f"no starter questions for {record.id}"
        assert not any(restates(q, record.title) for q in questions), (record.id, questions)
        assert not any(similar(a, b) for i, a in enumerate(questions) for b in questions[i + 1 :]), questions
        for question in questions:
            answer = seed_tutor.ask(question, lesson_id=record.id)
            assert not answer.refused and answer.citations, (record.id, question)


def test_close_stops_background_work_without_caching_a_partial_list():
    tutor = FakeTutor({"photo": make_lesson()}, knows=("?",), delay=0.2)
    starters = StarterQuestions(tutor)
    thread = starters.warm("photo", n=5)
    time.sleep(0.1)
    starters.close(timeout=5)
    assert not thread.is_alive()
    assert len(tutor.asked) < 5
    assert starters.cached("photo") is None
