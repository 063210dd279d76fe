"""End to end with the real models over a lesson written here (not one of the bundled ones): the answers
quote whole units, follow-ups resolve against the previous turn, and refusals say something useful."""

import pytest

from tutor.pipeline import Tutor
from tutor.settings import Settings

LESSON = """---
id: bike-care
title: Looking after your bike
course: Cycling basics
---
# Looking after your bike

A well kept bike is safer, quieter and lasts for years.

## What you will learn

- Truing a wheel by hand
- Cleaning and oiling the chain

## Cleaning the chain

Clean the chain every 300 to 500 kilometres, and after every ride in the rain. Wipe it with a rag, scrub the
links with a brush and degreaser, then rinse and dry it. Oiling a dirty chain is a common mistake. Oil on grit
makes a grinding paste that wears out the chain and the cogs quickly.

## How the gears shift

The rear derailleur moves the chain across the cogs in three steps:

1. The shifter pulls or releases the gear cable.
2. The cable swings the derailleur cage sideways.
3. The chain climbs onto the next cog as the pedals turn.

Shift only while pedalling, and ease off the pressure so the chain can move.

## Fixing a flat tyre

You need two tyre levers, a spare inner tube or a patch kit, and a pump. Lever one side of the tyre off the
rim, pull the tube out and look for the thorn or glass that caused the puncture before you fit the new tube.

## Tyre pressure

- Road tyres: 5 to 7 bar
- Mountain bike tyres: 1.5 to 2.5 bar
"""


@pytest.fixture(scope="module")
def bike_tutor(tmp_path_factory):
    root = tmp_path_factory.mktemp("bike")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "bike-care.md").write_text(LESSON, encoding="utf-8")
    tutor = Tutor.from_settings(Settings.from_env(env={}, home=root / "home", corpus=(corpus,)))
    tutor.ingest()
    return tutor


def test_a_how_question_gets_the_list_its_lead_in_introduces(bike_tutor):
    answer = bike_tutor.ask("How does the derailleur shift gears?", "bike-care")
    assert not answer.refused
    assert "three steps:" in answer.answer
    assert "The chain climbs onto the next cog" in answer.answer
    assert all(c.quote for c in answer.citations)


def test_a_short_follow_up_is_resolved_against_the_previous_turn(bike_tutor):
    first = bike_tutor.ask("How often should I clean my chain?", "bike-care")
    assert not first.refused and "300 to 500 kilometres" in first.answer
    history = [
        {"role": "user", "content": "How often should I clean my chain?"},
        {"role": "assistant", "content": first.answer},
    ]
    follow = bike_tutor.ask("And how do I clean it?", "bike-care", history=history)
    assert not follow.refused
    assert "scrub the links with a brush and degreaser" in follow.answer  # a wrapped line reads as one sentence


def test_a_follow_up_in_a_conversation_is_answered_from_the_lesson(bike_tutor):
    history = [
        {"role": "user", "content": "What do I need to fix a puncture?"},
        {"role": "assistant", "content": "You need two tyre levers, a spare inner tube or a patch kit, and a pump."},
    ]
    follow = bike_tutor.ask("Why should I look for the thorn?", "bike-care", history=history)
    assert not follow.refused
    assert "thorn or glass that caused the puncture" in follow.answer


def test_a_new_off_topic_question_in_a_conversation_stays_refused(bike_tutor):
    # Its own words are nowhere in the lesson: borrowing the previous turn would answer that turn instead.
    history = [
        {"role": "user", "content": "How often should I clean my chain?"},
        {"role": "assistant", "content": "Clean the chain every 300 to 500 kilometres."},
    ]
    answer = bike_tutor.ask("What is the capital of Australia?", "bike-care", history=history)
    assert answer.refused
    assert "can't find" in answer.answer.lower()


def test_a_field_line_is_quoted_with_the_heading_it_belongs_to(bike_tutor):
    answer = bike_tutor.ask("What pressure should road tyres have?", "bike-care")
    assert not answer.refused
    assert "5 to 7 bar" in answer.answer


def test_a_topic_the_lesson_only_names_is_said_to_be_named_not_explained(bike_tutor):
    answer = bike_tutor.ask("What is wheel truing?", "bike-care")
    assert answer.refused
    assert "only names" in answer.answer and "Truing a wheel by hand" in answer.answer


def test_a_question_about_an_acronym_the_lesson_never_mentions_is_refused(bike_tutor):
    answer = bike_tutor.ask("How does an ABS system work on a bike?", "bike-care")
    assert answer.refused
    assert answer.gate["layer"] in {"missing_name", "off_topic", "evidence"}


def test_a_refusal_points_at_the_sections_closest_to_the_question(bike_tutor):
    answer = bike_tutor.ask("How much does a new chain cost?", "bike-care")
    assert answer.refused
    assert "What you will learn" not in answer.answer  # an outline is never suggested as a topic
    assert answer.answer.index("Cleaning the chain") < answer.answer.index("Tyre pressure")
