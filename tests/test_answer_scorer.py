"""The learned answer scorer: committed adapter loads, stays small, ranks answers first; the recipe labels right."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evals.train_answer_scorer import MAX_NEGATIVES, build_training_set, held_out_titles, label_paragraph
from tutor.ground.answer_scorer import CARD_FILE, DEFAULT_PATH, HEAD_FILE

MAX_BYTES = 5 * 1024 * 1024


def test_committed_weights_are_small_and_complete() -> None:
    files = {p.name: p.stat().st_size for p in DEFAULT_PATH.iterdir() if p.is_file()}
    assert {"adapter_config.json", "adapter_model.safetensors", HEAD_FILE, CARD_FILE} <= set(files)
    assert sum(files.values()) <= MAX_BYTES


def test_card_records_recipe_and_budget() -> None:
    card = json.loads((DEFAULT_PATH / CARD_FILE).read_text(encoding="utf-8"))
    assert "squad-train" in card["data"]["source"] and "never bench/squad2" in card["data"]["source"]
    assert card["data"]["n_pairs"] > 0 and isinstance(card["seed"], int)
    training = card["training"]
    assert training["cpu_threads"] <= 2
    assert 0 < training["cpu_train_seconds"] <= 25 * 60
    assert training["pairs_seen"] > 0


# --- the data recipe --------------------------------------------------------------------------------------

CONTEXT = (
    "Harbourtown is a small fishing village on the north coast. "
    "Its lighthouse was built in 1871 by the engineer Mara Quist. "
    "The village holds a herring festival every June. "
    "Most visitors arrive by the coastal railway."
)


def _paragraph(title: str = "Harbourtown", context: str = CONTEXT) -> dict[str, Any]:
    def answer(text: str) -> dict[str, Any]:
        return {"text": text, "start": context.index(text)}

    return {
        "pid": f"{title}#0",
        "title": title,
        "context": context,
        "questions": [
            {
                "qid": f"{title}-q1",
                "question": "Who built the lighthouse?",
                "answerable": True,
                "answers": [answer("Mara Quist")],
            },
            {
                "qid": f"{title}-q2",
                "question": "Which festival does the village hold?",
                "answerable": True,
                "answers": [answer("herring festival")],
            },
            {"qid": f"{title}-q3", "question": "Who designed the railway station?", "answerable": False, "answers": []},
            # "village" first occurs in sentence 0, and also appears in sentence 2: that one is left out
            {
                "qid": f"{title}-q4",
                "question": "What kind of place is Harbourtown?",
                "answerable": True,
                "answers": [answer("village")],
            },
        ],
    }


def test_recipe_labels_answer_sentence_positive_and_the_rest_negative() -> None:
    groups = {g[0].qid: [(p.sentence.split()[0], p.label) for p in g] for g in label_paragraph(_paragraph())}
    assert groups["Harbourtown-q1"] == [("Its", 1), ("Harbourtown", 0), ("The", 0), ("Most", 0)]
    assert groups["Harbourtown-q2"] == [("The", 1), ("Harbourtown", 0), ("Its", 0), ("Most", 0)]
    assert groups["Harbourtown-q3"] == [("Harbourtown", 0), ("Its", 0), ("The", 0), ("Most", 0)]
    # the other sentence that also holds the answer text is neither positive nor negative
    assert groups["Harbourtown-q4"] == [("Harbourtown", 1), ("Its", 0), ("Most", 0)]


def test_recipe_skips_answers_outside_prose_sentences() -> None:
    context = "# Harbour facts\n\nThe harbour has three piers and a slipway. Boats leave at dawn every day."
    paragraph = {
        "pid": "x#0",
        "title": "x",
        "context": context,
        "questions": [
            {
                "qid": "h",
                "question": "What is the heading?",
                "answerable": True,
                "answers": [{"text": "Harbour facts", "start": 2}],
            }
        ],
    }
    assert label_paragraph(paragraph) == []


def test_training_sample_is_seeded_fixed_size_and_skips_held_out_articles() -> None:
    filler = " ".join(f"Sentence number {w} talks about the harbour." for w in "abcdefghij")
    dev_other = [_paragraph(f"Article{i}", CONTEXT + " " + filler) for i in range(9)]
    squad1 = [
        {**p, "questions": [q for q in p["questions"] if q["answerable"]]}
        for p in (_paragraph(f"Train{i}", CONTEXT + " " + filler) for i in range(20))
    ]
    first = build_training_set(squad1, dev_other, seed=7, n_pairs=120, unanswerable_share=0.25)
    again = build_training_set(squad1, dev_other, seed=7, n_pairs=120, unanswerable_share=0.25)
    assert first == again and len(first) == 120
    held = held_out_titles(dev_other, seed=7)
    assert held and not any(p.title in held for p in first)
    unanswerable_qids = {q["qid"] for p in dev_other for q in p["questions"] if not q["answerable"]}
    assert sum(p.qid in unanswerable_qids for p in first) == 30
    assert all(p.label == 0 for p in first if p.qid in unanswerable_qids)
    per_question: dict[str, int] = {}
    for p in first:
        if p.qid not in unanswerable_qids and p.label == 0:
            per_question[p.qid] = per_question.get(p.qid, 0) + 1
    assert max(per_question.values()) <= MAX_NEGATIVES


# --- the committed model ----------------------------------------------------------------------------------

CASES = [
    (
        "How many legs does a spider have?",
        [
            "Spiders are arachnids rather than insects.",
            "Many spiders spin silk webs to catch their prey.",
            "An adult spider has eight legs and usually eight eyes.",
        ],
        2,
    ),
    (
        "What colour is the roof of the old library?",
        [
            "The old library was opened by the town council in 1902.",
            "The roof of the old library is painted bright green.",
            "Visitors may borrow up to five books at a time.",
        ],
        1,
    ),
    (
        "When does the morning ferry leave the harbour?",
        [
            "The morning ferry leaves the harbour at half past seven.",
            "The ferry can carry two hundred passengers and forty cars.",
            "Tickets for the ferry are sold on board.",
        ],
        0,
    ),
    (
        "Why do leaves change colour in autumn?",
        [
            "Autumn is the season between summer and winter.",
            "Leaves change colour in autumn because the green chlorophyll breaks down and reveals other pigments.",
            "Many people enjoy walking in the woods in autumn.",
        ],
        1,
    ),
]


@pytest.fixture(scope="module")
def scorer():
    from tutor.ground.answer_scorer import AnswerScorer

    return AnswerScorer.from_path()


@pytest.mark.slow
@pytest.mark.parametrize(("question", "units", "answer"), CASES)
def test_ranks_the_answer_sentence_first(scorer, question: str, units: list[str], answer: int) -> None:
    probs = scorer.score(question, units)
    assert len(probs) == len(units) and all(0.0 <= p <= 1.0 for p in probs)
    assert max(range(len(units)), key=probs.__getitem__) == answer


@pytest.mark.slow
def test_scores_do_not_depend_on_batching(scorer) -> None:
    question, units, _ = CASES[0]
    together = scorer.score(question, units)
    alone = [scorer.score(question, [u])[0] for u in units]
    assert together == pytest.approx(alone, abs=1e-4)
    assert scorer.score(question, []) == []
