"""Exporting a sentence-transformers model for the ONNX Runtime backend, once per model (shared by data dirs).

The export needs torch and the `onnx` package; running it afterwards needs neither. It is made in a
temporary folder and moved into place only once its vectors match the original model's on probe texts,
so a half-written or drifting export is never used. A model that cannot be exported (a slow tokenizer, an
operator the exporter lacks) is recorded beside the exports with the reason, and the torch backend serves
it without trying again; delete that note to retry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import warnings
from pathlib import Path

from tutor.store.embedder import model_slug
from tutor.store.onnx import META_FILE, MODEL_FILE, TOKENIZER_FILE, OnnxEmbedder

log = logging.getLogger(__name__)

MATCH_TOLERANCE = 1e-4  # largest difference allowed between the two backends' vector components
PROBES = (
    "What is retrieval-augmented generation?",
    "A lesson paragraph of ordinary length, with punctuation; numbers like 3.14 and code such as `x = 1`.",
    " ".join(["A very long passage that runs past the model's token limit, so truncation is checked too."] * 40),
)
ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class ExportError(RuntimeError):
    """The model could not be exported, or its export does not reproduce its vectors."""


def export_folder(model: str, exports: Path) -> Path:
    """Where `model`'s export lives: named after the model, keyed by its files (a changed model, a new one)."""
    local = Path(model).expanduser()
    identity: list = [str(local.resolve()) if local.exists() else model]
    if local.is_dir():
        identity += sorted(
            (str(path.relative_to(local)), path.stat().st_size, path.stat().st_mtime_ns)
            for path in local.rglob("*")
            if path.is_file()
        )
    key = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:12]
    return exports / f"{model_slug(model)}-{key}"


def onnx_embedder(model: str, exports: Path) -> OnnxEmbedder | None:
    """`model` on ONNX Runtime, exported first if need be; None (with the reason logged) when it cannot be."""
    folder = export_folder(model, exports)
    failed = folder.with_name(folder.name + ".failed")
    if not (folder / META_FILE).exists():
        if failed.exists():
            log.info("%s: not exported (%s); using sentence-transformers", model, failed.read_text().strip())
            return None
        try:
            export(model, folder)
        except Exception as exc:  # any failure to export leaves the torch backend to serve the model
            reason = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("%s: cannot run on ONNX Runtime (%s); using sentence-transformers", model, reason)
            if not isinstance(exc, (ImportError, OSError)):  # a missing package or a full disk: retry later
                failed.parent.mkdir(parents=True, exist_ok=True)
                failed.write_text(reason + "\n")
            return None
    return OnnxEmbedder(folder)


def export(model: str, folder: Path) -> None:
    """Export `model` (a local folder or hub id) into `folder`, verified against the original."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    local = Path(model).expanduser()
    source = str(local) if local.exists() else model
    try:  # plain attention exports as a pattern ONNX Runtime fuses into one kernel (SDPA's does not)
        original = SentenceTransformer(source, device="cpu", model_kwargs={"attn_implementation": "eager"})
    except (TypeError, ValueError):
        original = SentenceTransformer(source, device="cpu")
    original.eval()
    tokenizer = original.tokenizer
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ExportError("the model's tokenizer has no Rust (fast) version")
    inputs = [name for name in ONNX_INPUTS if name in tokenizer.model_input_names]
    if inputs[:2] != ["input_ids", "attention_mask"]:
        raise ExportError(f"unexpected model inputs {tokenizer.model_input_names}")

    class Chain(torch.nn.Module):
        """The sentence-transformers modules end to end: token ids in, the sentence vector out."""

        def __init__(self) -> None:
            super().__init__()
            self.original = original

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.original(dict(zip(inputs, tensors, strict=True)))["sentence_embedding"]

    staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        sample = getattr(original, "preprocess", original.tokenize)(list(PROBES))
        axes = {name: {0: "batch", 1: "tokens"} for name in inputs} | {"embedding": {0: "batch"}}
        raw = staging / "unfused.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Chain(),
                tuple(sample[name] for name in inputs),
                str(raw),
                input_names=inputs,
                output_names=["embedding"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        (staging / TOKENIZER_FILE).write_text(backend.to_str(), encoding="utf-8")
        dimension = getattr(original, "get_embedding_dimension", original.get_sentence_embedding_dimension)
        meta = {
            "model_id": str(model),
            "dimension": int(dimension()),
            "max_tokens": int(original.max_seq_length),
            "inputs": inputs,
            "pad": {
                "id": int(tokenizer.pad_token_id or 0),
                "token": str(tokenizer.pad_token or "[PAD]"),
                "type_id": int(getattr(tokenizer, "pad_token_type_id", 0) or 0),
            },
        }
        (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        expected = original.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)

        def drift() -> float:
            return float(np.abs(expected - np.asarray(OnnxEmbedder(staging).embed_batch(list(PROBES)))).max())

        graph = "attention fused"
        difference = drift() if _fuse(raw, staging / MODEL_FILE, original[0].auto_model.config) else float("inf")
        if difference > MATCH_TOLERANCE:  # no fused graph, or one that drifts: the plain export, unfused
            graph = "unfused"
            raw.replace(staging / MODEL_FILE)
            difference = drift()
        if difference > MATCH_TOLERANCE:
            raise ExportError(f"the export's vectors differ from the model's by up to {difference:.2g}")
        raw.unlink(missing_ok=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            staging.rename(folder)
        except OSError:  # another process finished the same export first: keep its copy
            if not (folder / META_FILE).exists():
                raise
        log.info(
            "exported %s for ONNX Runtime to %s (%s; largest difference %.2g)",
            model,
            folder,
            graph,
            difference,
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fuse(raw: Path, out: Path, config) -> bool:
    """ONNX Runtime's transformer optimizer over the export (attention, layer norms and GELU each fused into
    one kernel: about 1.35x faster on CPU for MiniLM); False when it does not apply to this architecture.
    Whether the fused graph still gives the model's vectors is checked by the caller."""
    heads, hidden = getattr(config, "num_attention_heads", 0), getattr(config, "hidden_size", 0)
    if not heads or not hidden:
        return False
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optimized = optimize_model(str(raw), model_type="bert", num_heads=heads, hidden_size=hidden)
        optimized.save_model_to_file(str(out))
    except Exception as exc:  # an architecture the optimizer does not know: the unfused export serves
        log.info("no fused ONNX graph (%s: %s); using the plain export", type(exc).__name__, exc)
        return False
    return True
