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
    def _encode(self, texts: list[str], progress: bool) -> list[list[float]]:
        """Unit-length vectors for texts that already fit `max_tokens`."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Word pieces the model would see for `text`, special tokens included."""

    @property
    def collection_slug(self) -> str:
        """Model name + dimension, safe for a Chroma collection name: switching models never mixes vectors."""
        name = re.sub(r"[^a-zA-Z0-9]+", "-", self.model_id.rstrip("/").split("/")[-1]).strip("-").lower()
        return f"{name[:40]}-{self.dimension}d"

    def embed_batch(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> list[list[float]]:
        """Embed in length-sorted batches (less padding, faster) and return vectors in input order."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        sorted_texts = [texts[i] for i in order]
        encoded = self._encode_in_batches(sorted_texts, batch_size, progress)
        for i, vector in zip(order, encoded):
            vectors[i] = vector
        return vectors

    def _encode_in_batches(self, texts: list[str], batch_size: int, progress: bool) -> list[list[float]]:
        out: list[list[float]] = []
        bar = progress_bar(len(texts)) if progress else None
        for i in range(0, len(texts), batch_size):
            batch = texts[i:i + batch_size]
            out.extend(self._encode(batch, False))
            if bar is not None:
                bar.update(len(batch))
        if bar is not None:
            bar.close()
        return out

    # LangChain's Embeddings interface, so the same model serves a langchain-chroma vector store.
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_batch(list(texts))

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], False)[0]


def progress_bar(total: int):
    """A progress bar on stderr for long runs only."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="embedding", unit="chunk", disable=total < 64)


def load_embedder(model: str, device: str = "cpu") -> Embedder:
    """The one backend today: sentence-transformers, from a local path or a hub id."""
    from tutor.store.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model, device=device)
