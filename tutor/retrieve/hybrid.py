"""Hybrid retrieval: dense (Chroma) and BM25 over the same chunks, fused question by question.

Dense finds paraphrases, BM25 finds the exact terms a learner copies from the lesson; `fusion` weighs the
two by how clearly each one's leaders stand out for this question. A cross-encoder reranks the fused list
when one is configured.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from tutor.answer import Passage
from tutor.retrieve.fusion import Ranking, fuse
from tutor.retrieve.lexical import LexicalIndex
from tutor.store.chroma import LessonStore
from tutor.store.vectors import vector_cache

log = logging.getLogger(__name__)

KEPT_SCOPES = 256  # BM25 indexes kept, least recently asked dropped first: a catalog has thousands of lessons


@dataclass(frozen=True)
class Scope:
    """Where to look: one lesson, one course, or (both empty) every lesson."""

    lesson_id: str | None = None
    course: str | None = None

    @property
    def where(self) -> dict | None:
        if self.lesson_id:
            return {"lesson_id": self.lesson_id}
        if self.course:
            return {"course": self.course}
        return None


@dataclass
class ScopeIndex:
    """What a scope's questions are searched with: its BM25 index and, for one lesson, its chunk vectors
    (an exact cosine over a few dozen rows beats a filtered search of the whole index)."""

    lexical: LexicalIndex
    vectors: np.ndarray | None = None  # rows in `lexical.passages` order

    def nearest(self, query: list[float], k: int) -> list[Passage]:
        """The `k` chunks nearest the query vector, `score` their cosine."""
        if self.vectors is None or not len(self.vectors):
            return []
        sims = self.vectors @ np.asarray(query, dtype=np.float32)
        order = np.argsort(-sims, kind="stable")[:k]
        return [replace(self.lexical.passages[i], score=float(sims[i])) for i in order.tolist()]


class HybridRetriever:
    def __init__(
        self, store: LessonStore, top_k: int = 6, reranker: str = "", candidates: int = 30, fusion: str = "scores"
    ) -> None:
        self.store = store
        self.top_k = top_k
        self.candidates = candidates
        self.fusion = fusion
        self._reranker_id = reranker
        self._reranker = None
        self._bm25: OrderedDict[Scope, ScopeIndex] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Scope, threading.Lock] = {}
        self._generation = 0  # bumped by `refresh`: an index built from the old lessons is not kept
        self._rerank_lock = threading.Lock()  # loading and running the cross-encoder: one ask at a time

    def refresh(self) -> None:
        """Forget cached BM25 indexes after the lesson index changed."""
        with self._lock:
            self._bm25.clear()
            self._generation += 1

    def retrieve(self, question: str, scope: Scope = Scope(), k: int | None = None) -> list[Passage]:
        """The best `k` passages in `scope`. The question is embedded through the shared vector cache, so the
        evidence analysis that follows reuses its vector instead of embedding it again."""
        k = k or self.top_k
        depth = max(self.candidates, k)
        fused = fuse(list(self.rankings(question, scope, depth)), method=self.fusion)
        if self._reranker_id and fused:
            fused = self._rerank(question, fused[:depth])
        return fused[:k]

    def rankings(self, question: str, scope: Scope, depth: int) -> tuple[Ranking, Ranking]:
        """The two rankings that are fused, `depth` deep each: dense (by cosine) and BM25."""
        query_vector = vector_cache(self.store.embedder).get([question])[0].tolist()
        index = self._index(scope)
        if index.vectors is not None:
            dense = index.nearest(query_vector, depth)
        else:
            dense = self.store.search(query_vector, depth, scope.where)
        return Ranking(dense, [p.score for p in dense]), index.lexical.search(question, depth)

    def prewarm(self, scope: Scope = Scope()) -> None:
        """Build a scope's BM25 index now (the server does this for the whole catalog in the background, so
        the first catalog-wide question does not pay for reading every chunk)."""
        self._index(scope)

    def passages(self, scope: Scope) -> list[Passage]:
        """The scope's chunks as its index holds them (lesson order for a lesson), the index built if needed."""
        return list(self._index(scope).lexical.passages)

    def _index(self, scope: Scope) -> ScopeIndex:
        """The scope's index, built on its first question and kept until the lessons change. A lesson scope
        reads only that lesson's chunks and vectors; building one scope never blocks questions in another."""
        with self._lock:
            index = self._bm25.get(scope)
            if index is not None:
                self._bm25.move_to_end(scope)
                return index
            building = self._building.setdefault(scope, threading.Lock())
        with building:
            with self._lock:
                index, generation = self._bm25.get(scope), self._generation
            if index is None:
                index = self._build(scope)
                with self._lock:
                    if generation == self._generation:
                        self._bm25[scope] = index
                    while len(self._bm25) > KEPT_SCOPES:
                        self._bm25.popitem(last=False)
            with self._lock:
                self._building.pop(scope, None)
            return index

    def _build(self, scope: Scope) -> ScopeIndex:
        if scope.lesson_id:
            passages, vectors = self.store.lesson_vectors(scope.lesson_id)
            matrix = np.asarray(vectors, dtype=np.float32) if passages else np.zeros((0, 1), dtype=np.float32)
            return ScopeIndex(LexicalIndex(passages), matrix)
        return ScopeIndex(LexicalIndex(self.store.passages(scope.where)))

    def _rerank(self, question: str, passages: list[Passage]) -> list[Passage]:
        with self._rerank_lock:
            if self._reranker is None:
                from sentence_transformers import CrossEncoder

                self._reranker = CrossEncoder(self._reranker_id, device="cpu")
            scores = self._reranker.predict([(question, p.text) for p in passages])
        order = sorted(range(len(passages)), key=lambda i: -float(scores[i]))
        return [replace(passages[i]) for i in order]
