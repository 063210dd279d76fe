"""The fusion study fuses the retriever's own two rankings with the retriever's own fusion."""

from __future__ import annotations

from evals.fusion import fused_lessons
from tutor.answer import Passage
from tutor.retrieve.fusion import Ranking, fuse


def passage(chunk: str, lesson: str, score: float = 0.0) -> Passage:
    return Passage(chunk, lesson, lesson.title(), "", "", f"text of {chunk}", 0, 10, score)


def rankings() -> tuple[Ranking, Ranking]:
    dense = [passage("a1", "a", 0.9), passage("b1", "b", 0.5), passage("c1", "c", 0.45)]
    lexical = [passage("b1", "b"), passage("c2", "c"), passage("a1", "a")]
    return Ranking(dense, [p.score for p in dense]), Ranking(lexical, [6.0, 5.9, 1.0], 0.0, 3)


def test_lessons_come_in_the_order_the_retriever_fuses_them():
    dense, lexical = rankings()
    for method in ("scores", "rank"):
        expected = list(dict.fromkeys(p.lesson_id for p in fuse([dense, lexical], method=method)))
        assert fused_lessons(dense, lexical, method) == expected


def test_the_dense_weight_shifts_the_balance():
    dense, lexical = rankings()
    assert fused_lessons(dense, lexical, "rank", 1.0)[0] == "b"
    assert fused_lessons(dense, lexical, "scores", 1.0)[0] == "b"  # BM25's two leaders stand far above "a"
    assert fused_lessons(dense, lexical, "scores", 4.0)[0] == "a"  # dense's own leader, weighted up
