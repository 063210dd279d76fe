"""Answer units: a sentence with the context it needs (its list, its neighbour, its heading) and its role."""

from tutor.answer import Passage
from tutor.ground.evidence import split_sentences
from tutor.ground.units import answer_units, answering, readable, role_of, unit_for

LESSON = """# Bike care

## Common pitfall

Oiling a dirty chain. Oil on grit makes a grinding paste that wears the chain out fast.

## How a derailleur shifts

The derailleur moves the chain in three steps:

1. The shifter pulls the cable. After this, it moves:
    1. The cage swings sideways.
    2. The chain climbs onto the next cog.
2. The spring returns the cage when the cable is released.

This keeps the chain line straight. It also reduces wear.

## Tyres

- Pressure: 4 to 6 bar for road tyres
- Width: 25 mm is common

## What you will learn

- How to true a wheel by hand

## Quiz

Which tool removes a chain link?
"""


def sentences_of(text: str = LESSON):
    passage = Passage("bike#0", "bike", "Bike care", "Care", "Bike care", text, 0, len(text), 0.9)
    return split_sentences(passage)


def find(sentences, prefix):
    return next(s for s in sentences if s.text.startswith(prefix))


def test_short_opening_line_is_joined_with_the_sentence_that_explains_it():
    sentences = sentences_of()
    unit = unit_for(find(sentences, "Oiling a dirty chain"), sentences)
    assert unit.text == "Oiling a dirty chain. Oil on grit makes a grinding paste that wears the chain out fast."
    assert unit.quote.text == LESSON[unit.quote.start : unit.quote.end]


def test_a_sentence_ending_in_a_colon_brings_its_list_nested_items_included():
    sentences = sentences_of()
    unit = unit_for(find(sentences, "The derailleur moves"), sentences)
    assert unit.text == (
        "The derailleur moves the chain in three steps: The shifter pulls the cable. After this, it moves: "
        "The cage swings sideways; The chain climbs onto the next cog; "
        "The spring returns the cage when the cable is released."
    )
    assert LESSON[unit.quote.start : unit.quote.end].endswith("when the cable is released.")


def test_a_sentence_that_points_back_brings_the_one_before_it():
    sentences = sentences_of()
    unit = unit_for(find(sentences, "It also reduces"), sentences)
    assert unit.text == "This keeps the chain line straight. It also reduces wear."


def test_a_field_line_names_the_heading_it_belongs_to():
    sentences = sentences_of()
    unit = unit_for(find(sentences, "Pressure:"), sentences)
    assert unit.text == "Tyres — Pressure: 4 to 6 bar for road tyres."


def test_roles_tell_body_from_outline_and_quiz():
    sentences = sentences_of()
    assert role_of(find(sentences, "Oil on grit")) == "body"
    assert role_of(find(sentences, "How to true")) == "outline"
    assert role_of(find(sentences, "Which tool")) == "quiz"


def test_units_that_only_restate_the_question_or_outline_it_are_not_answers():
    sentences = sentences_of()
    question = "How do I true a wheel by hand?"
    texts = [u.text for u in answer_units(question, sentences)]
    assert not any("true a wheel" in t for t in texts)
    kept = {sentences[i].text for i in answering(question, sentences)}
    assert "How to true a wheel by hand" not in kept
    assert "Oil on grit makes a grinding paste that wears the chain out fast." in kept


def test_each_sentence_is_quoted_in_one_unit_only():
    sentences = sentences_of()
    units = answer_units("Why should I not oil a dirty chain?", sentences)
    cores = [(p.start) for u in units for p in u.parts]
    assert len(cores) == len(set(cores))


def test_readable_strips_markdown_links_emphasis_and_emoji():
    assert readable("Use **RAG** 🚀 — see [the guide](https://x.y/z) and `top_k`.") == (
        "Use RAG — see the guide and top_k."
    )
