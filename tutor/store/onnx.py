"""ONNX Runtime backend: the same sentence-transformers model, exported once, run without torch.

Loading sentence-transformers imports torch and transformers (7-10 s on two cores) before the first text
is embedded; ONNX Runtime and the Rust tokenizer load the exported model in well under a second, and the
process never holds torch in memory. The export is the whole sentence-transformers module chain (encoder,
pooling, any dense layer, normalization), checked against the original on probe texts, so its vectors are
the original model's (to float rounding) and an index built by either backend serves the other.

An export lives in a folder of its own: `model.onnx`, the model's `tokenizer.json`, and `embedder.json`
(identity, size, input names and precision).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import numpy as np

from tutor.store.embedder import Embedder

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "embedder.json"


class OnnxEmbedder(Embedder):
    preferred_batch = 1  # on CPU one text per call runs fastest here: no padding, attention stays small

    def __init__(self, folder: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        self.model_id = str(meta["model_id"])
        self.dimension = int(meta["dimension"])
        self.max_tokens = int(meta["max_tokens"])
        self.precision = str(meta.get("precision", "fp32"))
        self._inputs: list[str] = list(meta["inputs"])
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        # Two tokenizers, never reconfigured after this (so neither needs a lock to be read): one cuts and
        # pads batches for the model, the other counts a lesson's word pieces uncut.
        self._counter = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._batcher = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self._batcher.enable_truncation(self.max_tokens)
        pad = meta["pad"]
        self._batcher.enable_padding(pad_id=pad["id"], pad_token=pad["token"], pad_type_id=pad["type_id"])
        self.special_tokens = len(self._counter.encode("").ids)
        self._lock = threading.Lock()  # two encodes at once on a few cores only slow each other down
        log.info(
            "embedder %s (ONNX Runtime, %s): %d dims, %d tokens max",
            self.model_id,
            self.precision,
            self.dimension,
            self.max_tokens,
        )

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text).ids)

    def token_offsets(self, text: str) -> list[tuple[int, int]] | None:
        return list(self._counter.encode(text, add_special_tokens=False).offsets)

    def _encode(self, texts: list[str], batch_size: int, progress: bool) -> list[list[float]]:
        """Batches of similar length (least padding), run in order of length, returned in input order."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with self._lock:
            for start in range(0, len(order), batch_size):
                picked = order[start : start + batch_size]
                out[picked] = self._run([texts[i] for i in picked])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.clip(norms, 1e-12, None)).tolist()

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._batcher.encode_batch(texts)
        columns = {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
            "token_type_ids": [e.type_ids for e in encodings],
        }
        feed = {name: np.asarray(columns[name], dtype=np.int64) for name in self._inputs}
        return self._session.run(None, feed)[0]
