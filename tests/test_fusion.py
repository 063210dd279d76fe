"""Fusing the dense and BM25 rankings: standardised scores (the default) and reciprocal rank."""

import pytest

from tutor.answer import Passage
from tutor.retrieve.fusion import Ranking, fuse


def p(chunk: str, score: float = 0.0) -> Passage:
    return Passage(chunk, f"lesson-{chunk}", "t", "c", "", chunk, 0, 1, score)


def ranking(*pairs: tuple[str, float], cosine: bool = False) -> Ranking:
    return Ranking([p(c, s if cosine else 0.0) for c, s in pairs], [s for _, s in pairs])


def ids(passages: list[Passage]) -> list[str]:
    return [x.chunk_id for x in passages]


def test_a_ranking_sure_of_its_leader_outweighs_one_whose_candidates_are_alike():
    # dense: near-equal cosines, the distractor first and gold third; BM25: gold far above the rest
    dense = ranking(("distractor", 0.52), ("x", 0.515), ("gold", 0.51), ("y", 0.50), ("z", 0.49), cosine=True)
    bm25 = ranking(("gold", 14.0), ("distractor", 3.0), ("x", 2.5), ("w", 2.0))
    assert ids(fuse([dense, bm25]))[0] == "gold"
    # reciprocal rank fusion sees only positions: first and second beat third and first
    assert ids(fuse([dense, bm25], method="rank"))[0] == "distractor"


def test_a_clear_dense_leader_wins_over_a_flat_bm25_ranking():
    # ten candidates each: dense has one clear leader, BM25 falls off gently with gold third
    others = [f"o{i}" for i in range(9)]
    dense = ranking(("gold", 0.80), *[(c, 0.40 - 0.01 * i) for i, c in enumerate(others)], cosine=True)
    order = [others[0], others[1], "gold", *others[2:]]
    bm25 = ranking(*[(c, 2.1 - 0.1 * i) for i, c in enumerate(order)])
    assert ids(fuse([dense, bm25]))[0] == "gold"
    assert ids(fuse([dense, bm25], method="rank"))[0] == "o0"  # positions only: second and first beat first and third


def test_agreement_wins_and_each_passage_keeps_its_dense_cosine():
    dense = ranking(("a", 0.9), ("b", 0.8), ("c", 0.7), cosine=True)
    bm25 = ranking(("c", 5.0), ("d", 4.0), ("a", 3.0))
    for method in ("scores", "rank"):
        fused = fuse([dense, bm25], method=method)
        assert set(ids(fused)) == {"a", "b", "c", "d"} and len(fused) == 4
        assert ids(fused)[0] in ("a", "c")
        by_id = {x.chunk_id: x.score for x in fused}
        assert by_id == {"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.0}  # the gate reads the cosine, never BM25


def test_a_lone_bm25_match_is_a_clear_leader_among_the_passages_without_the_term():
    dense = ranking(*[(f"d{i}", 0.60 - 0.02 * i) for i in range(10)], ("rare", 0.40), cosine=True)
    lone = Ranking([p("rare")], [3.2], unlisted=0.0, depth=11)
    assert ids(fuse([dense, lone]))[0] == "rare"
    assert ids(fuse([dense, Ranking([p("rare")], [3.2])]))[0] == "d0"  # without `unlisted`: one score, no spread


def test_one_sided_and_empty_rankings():
    dense = ranking(("a", 0.9), ("b", 0.5), cosine=True)
    assert ids(fuse([dense, Ranking()])) == ["a", "b"]  # no shared term: dense alone decides
    assert ids(fuse([Ranking(), ranking(("x", 2.0), ("y", 1.0))])) == ["x", "y"]
    assert fuse([Ranking(), Ranking()]) == []
    flat = ranking(("a", 0.5), ("b", 0.5), cosine=True)  # no spread: it orders nothing, ties keep list order
    assert ids(fuse([flat, Ranking()])) == ["a", "b"]


def test_weights_shift_the_balance():
    dense = ranking(("d", 0.9), ("g", 0.5), ("e", 0.4), cosine=True)
    bm25 = ranking(("g", 9.0), ("d", 5.0), ("f", 4.5))
    assert ids(fuse([dense, bm25], (1.0, 0.2)))[0] == "d"
    assert ids(fuse([dense, bm25], (0.2, 1.0)))[0] == "g"


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="one score per passage"):
        Ranking([p("a")], [])
    with pytest.raises(ValueError, match="one weight per ranking"):
        fuse([Ranking()], (1.0, 1.0))
    with pytest.raises(ValueError, match="unknown fusion method"):
        fuse([Ranking()], method="mean")
