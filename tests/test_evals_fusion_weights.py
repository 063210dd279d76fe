"""The fusion-weight study fuses the retriever's own two rankings the way the tutor does at weight 1."""

from __future__ import annotations

from evals.fusion_weights import fused_lessons
from tutor.answer import Passage
from tutor.retrieve.hybrid import HybridRetriever


def passage(chunk: str, lesson: str) -> Passage:
    return Passage(chunk, lesson, lesson.title(), "", "", f"text of {chunk}", 0, 10)


def test_equal_weights_order_lessons_as_the_retriever_fuses_them():
    dense = [passage("a1", "a"), passage("b1", "b"), passage("c1", "c")]
    lexical = [passage("b1", "b"), passage("c2", "c"), passage("a1", "a")]
    fused = HybridRetriever._fuse([dense, lexical])
    expected = list(dict.fromkeys(p.lesson_id for p in fused))
    assert fused_lessons(dense, lexical, 1.0) == expected == ["b", "a", "c"]


def test_a_lighter_dense_ranking_lets_the_bm25_leader_win():
    dense = [passage("d1", "distractor"), passage("g2", "gold")]
    lexical = [passage("g1", "gold"), passage("x1", "other")]
    assert fused_lessons(dense, lexical, 1.0)[0] == "distractor"  # a tie at the top: dense came first
    assert fused_lessons(dense, lexical, 0.5)[0] == "gold"
