"""The embedding protocol: embed texts to unit vectors, count tokens, know its own size limits.

Backends implement `_encode` and `count_tokens`; batching by length and the LangChain face live here.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod

from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)


class Embedder(Embeddings, ABC):
    """Normalized sentence embeddings. Subclasses set `model_id`, `dimension` and `max_tokens`."""

    model_id: str
    dimension: int
    max_tokens: int

    @abstractmethod
    def _encode(self, texts: list[str], batch_size: int, progress: bool) -> list[list[float]]:
        """Unit-length vectors, in input order, for texts that already fit `max_tokens`."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Word pieces the model would see for `text`, special tokens included."""

    @property
    def collection_slug(self) -> str:
        """Model name + dimension, safe for a Chroma collection name: switching models never mixes vectors."""
        name = re.sub(r"[^a-zA-Z0-9]+", "-", self.model_id.rstrip("/").split("/")[-1]).strip("-").lower()
        return f"{name[:40]}-{self.dimension}d"

    def embed_batch(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> list[list[float]]:
        """Vectors in input order; the backend batches (sentence-transformers sorts by length itself)."""
        return self._encode(list(texts), batch_size, progress) if texts else []

    # LangChain's Embeddings interface, so the same model serves a langchain-chroma vector store.
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_batch(list(texts))

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], 1, False)[0]


def load_embedder(model: str, device: str = "cpu") -> Embedder:
    """The one backend today: sentence-transformers, from a local path or a hub id."""
    from tutor.store.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model, device=device)
