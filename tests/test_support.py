"""Support scorer: does the cited evidence back the claim?"""

from __future__ import annotations

import pytest

from tutor.ground.support import SupportScorer

EVIDENCE = (
    "The Eiffel Tower was completed in 1889 for the World's Fair. "
    "It was designed by the engineering company of Gustave Eiffel. "
    "The tower is 330 metres tall."
)


def test_verbatim_scores_above_a_changed_number(fake_embedder) -> None:
    scorer = SupportScorer(fake_embedder)
    right = scorer.score("The Eiffel Tower was completed in 1889 for the World's Fair.", EVIDENCE)
    wrong = scorer.score("The Eiffel Tower was completed in 1925 for the World's Fair.", EVIDENCE)
    assert 0.0 <= wrong < right <= 1.0
    assert scorer.supported("The tower is 330 metres tall.", EVIDENCE)
    assert not scorer.supported("The tower is 500 metres tall.", EVIDENCE)


def test_invented_name_is_unsupported(fake_embedder) -> None:
    scorer = SupportScorer(fake_embedder)
    assert not scorer.supported("It was designed by the engineering company of Thomas Edison.", EVIDENCE)


def test_threshold_override(fake_embedder) -> None:
    assert SupportScorer(fake_embedder, threshold=1.01).supported("The tower is 330 metres tall.", EVIDENCE) is False
    assert SupportScorer(fake_embedder, threshold=0.0).supported("Anything at all.", EVIDENCE) is True


@pytest.mark.slow
def test_real_model_support(real_embedder) -> None:
    scorer = SupportScorer(real_embedder)
    assert scorer.supported("The Eiffel Tower was completed in 1889 for the World's Fair.", EVIDENCE)
    assert not scorer.supported("The Eiffel Tower was completed in 1925 for the World's Fair.", EVIDENCE)
    assert scorer.supported("Gustave Eiffel's engineering company designed the tower.", EVIDENCE)
