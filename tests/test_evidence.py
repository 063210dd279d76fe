"""Evidence scorer: sentence features and ranking, with the deterministic hashing embedder."""

from __future__ import annotations

from pathlib import Path

from tutor.answer import Passage
from tutor.ground.evidence import EvidenceScorer
from tutor.ground.features import QueryProfile, TextProfile, entity_missing, load_params, number_missing

TEXT = (
    "The encoder stacks several identical blocks. "
    "The base model has 12 layers and 110 million parameters. "
    "Training used the Adam optimizer with warmup."
)


def passage(text: str = TEXT, score: float = 0.5) -> Passage:
    return Passage("c1", "lesson", "Lesson", "course", "Intro", text, 100, 100 + len(text), score)


def test_query_profile_finds_entities_numbers_type_and_negation() -> None:
    q = QueryProfile.of("How many layers did Google not use in BERT in 2018?")
    assert q.qtype == "number"
    assert q.numbers == {"2018"}
    assert {"googl", "bert"} <= q.entities
    assert q.negated
    assert QueryProfile.of("Who designed the tower?").qtype == "person"
    assert QueryProfile.of("In what year did it open?").qtype == "date"


def test_missing_entity_and_number_are_detected() -> None:
    doc = TextProfile.of("BERT was released by Google in 2018.")
    assert entity_missing(QueryProfile.of("When did Google release BERT?"), doc) == 0.0
    assert entity_missing(QueryProfile.of("When did Microsoft release BERT?"), doc) == 0.5
    assert number_missing(QueryProfile.of("What was released in 2018?"), doc) == 0.0
    assert number_missing(QueryProfile.of("What was released in 2019?"), doc) == 1.0


def test_score_returns_every_sentence_best_first_with_offsets(fake_embedder) -> None:
    scorer = EvidenceScorer(fake_embedder)
    ranked = scorer.score("How many layers does the base model have?", [passage()])
    assert len(ranked) == 3
    assert "12 layers" in ranked[0].text
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)
    assert all(0.0 <= s.score <= 1.0 for s in ranked)
    best = ranked[0]
    assert TEXT[best.start - 100 : best.end - 100] == best.text


def test_embeddings_are_cached_across_analyses(fake_embedder) -> None:
    scorer = EvidenceScorer(fake_embedder)
    scorer.score("Which optimizer was used?", [passage()])
    calls = fake_embedder.calls
    scorer.analyse("Which optimizer was used?", [passage()])
    assert fake_embedder.calls == calls
    scorer.score("Which optimizer did training use?", [passage()])
    assert fake_embedder.calls == calls + 1  # only the new question is embedded


def test_no_passages_gives_no_sentences(fake_embedder) -> None:
    assert EvidenceScorer(fake_embedder).score("Anything?", []) == []


def test_params_fall_back_to_defaults_when_file_missing(tmp_path: Path) -> None:
    assert load_params(tmp_path / "absent.json", {"x": 1}) == {"x": 1}
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert load_params(bad, {"x": 2}) == {"x": 2}
