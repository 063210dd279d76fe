"""The embedding protocol: embed texts to unit vectors, count tokens, know its own size limits.

Backends (sentence-transformers, ONNX Runtime) implement `_encode` and `count_tokens`; the LangChain face
lives here.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

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

    def token_offsets(self, text: str) -> list[tuple[int, int]] | None:
        """The character span of each word piece of `text` (special tokens left out), from one tokenization:
        the chunker then counts any span of a lesson without tokenizing it again. None when the backend
        cannot tell; the chunker then counts each span on its own."""
        return None

    special_tokens: int = 0  # added to every text by the model (BERT's [CLS] and [SEP])
    precision: str = "fp32"  # the weights' number format: an int8 copy's vectors are close, not equal
    preferred_batch: int = 4  # texts per model call that run fastest on CPU when the caller does not say

    @property
    def collection_slug(self) -> str:
        """Model name + dimension (+ precision when not fp32), safe for a Chroma collection name: switching
        models, or an int8 copy of one, never mixes vectors in one index."""
        precision = "" if self.precision == "fp32" else f"-{self.precision}"
        return f"{model_slug(self.model_id)}-{self.dimension}d{precision}"

    def embed_batch(self, texts: list[str], batch_size: int = 0, progress: bool = False) -> list[list[float]]:
        """Vectors in input order; the backend batches texts of similar length together, `batch_size` at a
        time (0: its `preferred_batch`)."""
        return self._encode(list(texts), batch_size or self.preferred_batch, progress) if texts else []

    # LangChain's Embeddings interface, so the same model serves a langchain-chroma vector store.
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_batch(list(texts))

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], 1, False)[0]


def model_slug(model_id: str) -> str:
    """The last part of a model's path or hub id, lower-cased letters and digits joined by `-` (40 at most)."""
    return re.sub(r"[^a-zA-Z0-9]+", "-", model_id.rstrip("/").split("/")[-1]).strip("-").lower()[:40]


def load_embedder(
    model: str,
    device: str = "cpu",
    lazy: bool = False,
    backend: str = "torch",
    exports: Path | None = None,
    precision: str = "fp32",
) -> Embedder:
    """The embedding model, from a local path or a hub id, on ONNX Runtime or sentence-transformers.

    `backend` "onnx" or "auto" runs a copy of the model exported into `exports` (made on first use), which
    loads in a fraction of a second; "auto" falls back to sentence-transformers where the model does not
    export (or on a GPU), "onnx" says why it cannot. `precision` "int8" runs an int8 copy of that export
    (about 1.4x faster on CPU), made and checked once; torch, or a copy that fails its check, serves fp32.
    With `lazy`, a local model folder is only read for its name, size and token limit, and the model itself
    loads on the first text to embed or count: `tutor ingest` with nothing changed then never loads it.
    (The first run at int8 loads the model at once: which index its vectors name is known only after.)"""
    on_onnx = backend != "torch" and exports is not None and device == "cpu"
    shape = _folder_shape(Path(model).expanduser()) if lazy else None
    if shape is not None:
        from tutor.store.onnx_export import known_precision

        settled = known_precision(model, exports, precision) if on_onnx else "fp32"
        if settled is not None:
            return LazyEmbedder(
                str(model),
                *shape,
                load=lambda: load_embedder(model, device, backend=backend, exports=exports, precision=precision),
                precision=settled,
            )
    if on_onnx:
        from tutor.store.onnx_export import onnx_embedder

        embedder = onnx_embedder(model, exports, precision)
        if embedder is not None:
            return embedder
        if backend == "onnx":
            from tutor.errors import BackendMisconfiguredError

            raise BackendMisconfiguredError(
                f"{model} cannot run on ONNX Runtime (the log says why); set TUTOR_EMBED_BACKEND=torch or auto"
            )
    from tutor.store.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model, device=device)


class LazyEmbedder(Embedder):
    """An embedder that knows its identity up front and loads the real one when first asked to work."""

    def __init__(
        self, model_id: str, dimension: int, max_tokens: int, load: Callable[[], Embedder], precision: str = "fp32"
    ) -> None:
        self.model_id, self.dimension, self.max_tokens, self.precision = model_id, dimension, max_tokens, precision
        self._load = load
        self._real: Embedder | None = None
        self._lock = threading.Lock()

    @property
    def real(self) -> Embedder:
        if self._real is None:
            with self._lock:
                if self._real is None:
                    real = self._load()
                    if real.collection_slug != self.collection_slug:  # never write one model's vectors under
                        from tutor.errors import BackendMisconfiguredError  # another's index name

                        raise BackendMisconfiguredError(
                            f"{self.model_id} loaded as {real.collection_slug}, not {self.collection_slug} "
                            "(the model's exports changed while it was loading): run again"
                        )
                    self._real = real
        return self._real

    @property
    def loaded(self) -> bool:
        return self._real is not None

    def _encode(self, texts: list[str], batch_size: int, progress: bool) -> list[list[float]]:
        return self.real._encode(texts, batch_size, progress)

    def count_tokens(self, text: str) -> int:
        return self.real.count_tokens(text)

    def token_offsets(self, text: str) -> list[tuple[int, int]] | None:
        return self.real.token_offsets(text)

    @property
    def special_tokens(self) -> int:  # type: ignore[override]
        return self.real.special_tokens

    @property
    def preferred_batch(self) -> int:  # type: ignore[override]
        return self.real.preferred_batch


def _folder_shape(folder: Path) -> tuple[int, int] | None:
    """(dimension, max tokens) of a sentence-transformers folder from its config files, or None when they
    do not say (a hub id, an unusual layout): then the model is loaded to find out."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        max_tokens = int(
            json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"]
        )
        dimension = 0
        for module in modules:
            config = folder / module.get("path", "") / "config.json"
            kind = module.get("type", "")
            if kind.endswith("Pooling"):
                dimension = int(json.loads(config.read_text(encoding="utf-8"))["word_embedding_dimension"])
            elif kind.endswith("Dense"):
                dimension = int(json.loads(config.read_text(encoding="utf-8"))["out_features"])
            elif not kind.endswith(("Transformer", "Normalize")):
                return None  # a module whose effect on the vector size is not known here
        return (dimension, max_tokens) if dimension > 0 and max_tokens > 0 else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
