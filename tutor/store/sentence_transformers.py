"""sentence-transformers backend: a local model folder (the bundled MiniLM) or a hub id."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from tutor.store.embedder import Embedder

log = logging.getLogger(__name__)


class SentenceTransformerEmbedder(Embedder):
    def __init__(self, model: str, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        self.model_id = str(model)
        local = Path(self.model_id).expanduser()
        self._model = SentenceTransformer(str(local) if local.exists() else self.model_id, device=device)
        dimension = getattr(self._model, "get_embedding_dimension", self._model.get_sentence_embedding_dimension)
        self.dimension = int(dimension())
        self.max_tokens = int(self._model.max_seq_length)
        self._tokenizer = self._model.tokenizer
        # A fast tokenizer is not safe to share between threads ("Already borrowed"), and two encodes at
        # once on a few cores only slow each other down: asks run concurrently, each encode takes its turn.
        self._lock = threading.Lock()
        self._counter = _private_fast_tokenizer(self._tokenizer)
        if self._counter is not None:
            self.special_tokens = len(self._counter.encode("").ids)
        log.info("embedder %s: %d dims, %d tokens max", self.model_id, self.dimension, self.max_tokens)

    def count_tokens(self, text: str) -> int:
        if self._counter is not None:
            return len(self._counter.encode(text).ids)
        with self._lock:
            ids = self._tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return len(ids)

    def token_offsets(self, text: str) -> list[tuple[int, int]] | None:
        if self._counter is None:
            return None
        return list(self._counter.encode(text, add_special_tokens=False).offsets)

    def _encode(self, texts: list[str], batch_size: int, progress: bool) -> list[list[float]]:
        with self._lock:
            vectors = self._model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress and len(texts) >= 64,
            )
        return vectors.tolist()


def _private_fast_tokenizer(tokenizer):
    """A copy of the model's Rust tokenizer for counting: never truncates or pads, and is never changed
    after this, so it needs no lock (the model's own one is reconfigured by every encode call). None for a
    slow (pure Python) tokenizer."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    counter = Tokenizer.from_str(backend.to_str())
    counter.no_truncation()
    counter.no_padding()
    return counter
