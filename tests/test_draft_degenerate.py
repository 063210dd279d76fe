"""Degenerate LLM drafts (loops, bare markers, fragments) are told apart from real answers, and a reply of
NOT_IN_LESSON, in the token or in words, is read as the model declining."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tutor.generate.base import ChatBackend
from tutor.generate.draft import degenerate_reason, is_fragment, parse_draft, says_not_in_lesson, stop_reason

GOOD = {
    "two cited sentences": (
        "Fine-tuning is rarely the right first move; most teams should exhaust prompting and RAG first. [1] "
        "It pays off for a stable use case with a large labelled dataset. [2]"
    ),
    "short imperative steps": (
        "Choose the number of clusters k. [1] Assign each point to its nearest centroid. [1] "
        "Move each centroid to the mean of its points. [1]"
    ),
    "a numbered list after a lead-in": (
        "The three steps are:\n1. Pick k centroids at random. [1]\n2. Assign each point to the nearest "
        "centroid. [1]\n3. Recompute the centroids until they stop moving. [1]"
    ),
    "a one-word reply then the reason": (
        "No. Fine-tuning is a poor and expensive way to inject new knowledge; use RAG for facts. [1]"
    ),
    "an abbreviation splits a sentence": "Clean your chain every 300 to 500 kilometres, e.g. after a wet ride. [1]",
    "one repeat among distinct sentences": (
        "Use RAG for facts that change. [1] Prompting is fast and free. [2] Use RAG for facts that change. [1]"
    ),
    "markers before the full stop": "Fine-tuning amplifies data quality, good or bad [2]. Prompting is fast [1].",
    "initials split into sentences": "J. F. Lawton and Shawn Levy have no film title in common. [1]",
    "two similar but different sentences": (
        "Use RAG for knowledge that changes over time. [1] Use prompting for most use cases to start with. [2]"
    ),
}

BAD = {
    "a marker-only fragment sixteen times": "RAG vs. [1] " * 16,
    "one sentence three times": "Fine-tuning changes the model's weights. [1] " * 3,
    "a sentence and its repeat": "Use RAG for facts. [1] Use RAG for facts. [1]",
    "bare markers": "[1] [2]",
    "only fragments": "RAG vs. [1] Fine-tuning vs. [2]",
    "mostly fragments": "Prompting and. [1] Retrieval. [2] Fine-tuning is slow to iterate on. [3]",
    "a phrase looping without a full stop": "fine-tuning model weights " * 10,
    "a lone word": "Paris. [1]",
    "a sentence and its rewording": (
        "The algorithm finds the optimal number of clusters based on the data points. [1] "
        "The algorithm is designed to find the optimal number of clusters based on the data points. [1]"
    ),
}


@pytest.mark.parametrize("name", GOOD)
def test_real_answers_are_not_degenerate(name: str) -> None:
    draft = parse_draft(GOOD[name])
    assert draft.degenerate == "", name
    assert not draft.not_in_lesson and draft.claims
    assert stop_reason(GOOD[name]) == ""


@pytest.mark.parametrize("name", BAD)
def test_degenerate_drafts_are_flagged_with_a_reason(name: str) -> None:
    reason = degenerate_reason(BAD[name])
    assert reason, name
    assert parse_draft(BAD[name]).degenerate == reason


def test_loops_stop_generation_but_a_lone_fragment_does_not() -> None:
    assert "16 times" in stop_reason("RAG vs. [1] " * 16)
    assert stop_reason("fine-tuning model weights " * 10)
    # Early in a stream a short first sentence is no reason to stop: more may follow.
    assert stop_reason("No. [1]") == "" and stop_reason("RAG vs. [1]") == ""


def test_a_repeated_sentence_is_kept_once() -> None:
    draft = parse_draft(GOOD["one repeat among distinct sentences"])
    assert [c.text for c in draft.claims] == ["Use RAG for facts that change.", "Prompting is fast and free."]
    assert draft.claims[0].passages == (1,)


def test_rewordings_of_one_sentence_count_as_a_loop() -> None:
    loop = (
        "The algorithm finds the optimal number of clusters from the data points. [1] "
        "The algorithm is designed to find the optimal number of clusters from the data points. [1] "
        "The algorithm was made to find the optimal number of clusters from the data points. [1]"
    )
    assert stop_reason(loop) == "the same sentence 3 times"
    assert len(parse_draft(loop).claims) == 1


def test_a_last_sentence_cut_off_by_the_token_limit_is_left_out() -> None:
    reply = "Fine-tuning amplifies data quality. [1] The algorithm is designed to find the optimal"
    draft = parse_draft(reply, whole_sentences=True)
    assert [c.text for c in draft.claims] == ["Fine-tuning amplifies data quality."]
    assert draft.degenerate == ""
    assert len(parse_draft(reply).claims) == 2  # a piece of text on its own may end without a full stop


@pytest.mark.parametrize(
    ("sentence", "fragment"),
    [
        ("RAG vs. [1]", True),
        ("[1]", True),
        ("Retrieval. [2]", True),
        ("Prompting and.", True),
        ("Assign points. [1]", False),
        ("Use RAG for: knowledge that changes over time. [1]", False),
        ("The three steps are:\n1.", False),
        ("2.", False),
        ("The final was played at a stadium that opened in 1930. [1]", False),
        ("Petrie Dierman Kughn in 1994.", False),
    ],
)
def test_fragments(sentence: str, fragment: bool) -> None:
    assert is_fragment(sentence) is fragment


@pytest.mark.parametrize(
    "reply",
    [
        "NOT_IN_LESSON",
        "NOT_IN_LESSON.",
        "not_in_lesson",
        "The lesson does not say. NOT_IN_LESSON",
        "The passages do not mention the capital of Australia.",
        "I cannot find that in the lesson.",
        "There is no information about sourdough in these passages.",
    ],
)
def test_the_model_declining_is_read_as_not_in_lesson(reply: str) -> None:
    draft = parse_draft(reply)
    assert draft.not_in_lesson and not draft.claims
    assert says_not_in_lesson(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "The lesson does not cover LoRA in depth, but it says LoRA trains small adapters. [1]",
        "Fine-tuning does not teach the model new facts reliably; use RAG for that. [1]",
        "Prompting is not always enough. [2]",
    ],
)
def test_a_cited_negative_answer_is_an_answer(reply: str) -> None:
    draft = parse_draft(reply)
    assert not draft.not_in_lesson and draft.claims


class Endless(ChatBackend):
    """A model stuck in a loop: it would never stop on its own."""

    name = "endless"

    def __init__(self, piece: str) -> None:
        self.piece = piece
        self.sent = 0
        self.closed = False

    def _chat(self, messages, max_tokens) -> Iterator[str]:
        try:
            while True:
                self.sent += 1
                yield self.piece
        finally:
            self.closed = True


@pytest.mark.parametrize("piece", ["RAG vs. [1] ", "NOT_IN_LESSON"])
def test_chat_draft_stops_a_looping_or_declining_model_and_cancels_it(piece: str) -> None:
    backend = Endless(piece)
    draft = backend.draft("What is RAG?", [], [])
    assert backend.closed and backend.sent <= 3
    assert draft.degenerate or draft.not_in_lesson
