"""Text → unit vector, cached per embedder, so a request embeds each question and sentence only once."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np


class VectorCache:
    """Text → unit vector, LRU-bounded, so the scorer, gate and support scorer embed a sentence only once."""

    def __init__(self, embedder: Any, capacity: int = 8192) -> None:
        self.embedder = embedder
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, vectors: dict[str, Sequence[float]]) -> None:
        """Vectors computed elsewhere (at ingest), so `get` finds them instead of embedding again."""
        with self._lock:
            for text, vector in vectors.items():
                if text not in self._vectors:
                    self._vectors[text] = np.asarray(vector, dtype=np.float32)
            while len(self._vectors) > self.capacity:
                self._vectors.popitem(last=False)

    def get(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts` as rows; the uncached ones are embedded in one batch."""
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if todo:
            fresh = self.embedder.embed_batch(todo)
            with self._lock:
                for text, vector in zip(todo, fresh, strict=True):
                    self._vectors[text] = np.asarray(vector, dtype=np.float32)
        with self._lock:
            rows = []
            for text in texts:
                self._vectors.move_to_end(text)
                rows.append(self._vectors[text])
            while len(self._vectors) > max(self.capacity, len(texts)):
                self._vectors.popitem(last=False)
        if not rows:
            return np.zeros((0, 1), dtype=np.float32)
        return np.vstack(rows)


_CACHES: weakref.WeakKeyDictionary[Any, VectorCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def vector_cache(embedder: Any) -> VectorCache:
    """The one cache per embedder object, shared by every scorer built on it."""
    with _CACHES_LOCK:
        cache = _CACHES.get(embedder)
        if cache is None:
            cache = _CACHES[embedder] = VectorCache(embedder)
        return cache
