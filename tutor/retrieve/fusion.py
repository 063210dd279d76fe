"""Fusing the dense and BM25 rankings of one question into one list.

Each ranking's scores are standardised over its own candidates (z-scores: how far above that ranking's
typical candidate a passage stands) and the two are added. A ranking that is sure of its leader (a BM25
score far above the rest, as when a learner copies the lesson's words) then outweighs one whose top
candidates are all alike (a dense ranking pulled about by the options of a quiz question), question by
question, with no weight to tune. A passage that only one ranking found counts as that other ranking's
weakest candidate (for BM25: as a passage without the question's terms, score 0). Reciprocal rank
fusion, which sees only positions and so weighs both rankings alike on every question, is kept as the
`rank` alternative (`TUTOR_FUSION`).

Measured on the shared suites with `python -m evals.fusion` (see the README's catalog section).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tutor.answer import Passage

RRF_K = 60


@dataclass(frozen=True)
class Ranking:
    """One retriever's candidates, best first, with the scores it ranked them by (cosine or BM25).

    `unlisted` is the score every passage left out has, when the retriever knows it (BM25: 0, no shared
    term), and `depth` how many candidates were asked for: a BM25 ranking of one match out of thirty is then
    standardised as one match among twenty-nine zeros (a clear leader), not as one number alone (no spread)."""

    passages: list[Passage] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    unlisted: float | None = None
    depth: int = 0

    def __post_init__(self) -> None:
        if len(self.passages) != len(self.scores):
            raise ValueError("a ranking needs one score per passage")

    def standardised(self) -> tuple[list[float], float]:
        """z-scores of the listed passages, and the z-score a passage not listed gets."""
        padding = [self.unlisted] * max(0, self.depth - len(self.scores)) if self.unlisted is not None else []
        values = np.asarray(self.scores + padding, dtype=np.float64)
        spread = float(values.std()) if len(values) else 0.0
        if spread == 0:
            return [0.0] * len(self.scores), 0.0
        z = (values - values.mean()) / spread
        floor = (self.unlisted - values.mean()) / spread if self.unlisted is not None else float(z.min())
        return z[: len(self.scores)].tolist(), float(min(floor, z.min()))


def fuse(rankings: list[Ranking], weights: tuple[float, ...] | None = None, method: str = "scores") -> list[Passage]:
    """The rankings' passages in one list, best first; `method` is "scores" (standardised scores, added)
    or "rank" (reciprocal rank fusion); each ranking counts with its weight (1 by default). Ties keep the
    order in which the rankings listed the passages. Each passage keeps its own `score` (the dense cosine:
    0 when only BM25 found it)."""
    weights = weights or (1.0,) * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    if method not in ("scores", "rank"):
        raise ValueError(f"unknown fusion method {method!r}: use 'scores' or 'rank'")
    by_id: dict[str, Passage] = {}
    for ranking in rankings:
        for passage in ranking.passages:
            if passage.chunk_id not in by_id or passage.score > by_id[passage.chunk_id].score:
                by_id[passage.chunk_id] = passage
    total = dict.fromkeys(by_id, 0.0)
    for ranking, weight in zip(rankings, weights, strict=True):
        if not ranking.passages:
            continue
        if method == "rank":
            found = {p.chunk_id: 1.0 / (RRF_K + rank + 1) for rank, p in enumerate(ranking.passages)}
            floor = 0.0
        else:
            standard, floor = ranking.standardised()
            found = {}
            for passage, value in zip(ranking.passages, standard, strict=True):
                found.setdefault(passage.chunk_id, value)
        for chunk_id in total:
            total[chunk_id] += weight * found.get(chunk_id, floor)
    order = sorted(total, key=lambda chunk_id: -total[chunk_id])  # stable: ties keep first-listed order
    return [by_id[chunk_id] for chunk_id in order]
