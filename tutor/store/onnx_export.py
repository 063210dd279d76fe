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
from collections.abc import Callable
from pathlib import Path

from tutor.store.embedder import model_slug
from tutor.store.onnx import META_FILE, MODEL_FILE, TOKENIZER_FILE, OnnxEmbedder

log = logging.getLogger(__name__)

MATCH_TOLERANCE = 1e-4  # largest difference allowed between the two backends' vector components
INT8_MIN_COSINE = 0.98  # an int8 copy whose vector for a probe text strays further than this is not used
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


def known_precision(model: str, exports: Path, precision: str) -> str | None:
    """The precision `model` will run at on ONNX Runtime, when earlier runs settled it: "int8" once its copy
    exists, "fp32" when asked for or when the model (or its int8 copy) was found not to work; None while
    that is still to be tried (the caller then loads the model to know which index its vectors name)."""
    folder = export_folder(model, exports)
    if precision == "fp32" or _note(folder).exists() or _note(int8_folder(folder)).exists():
        return "fp32"
    return "int8" if (int8_folder(folder) / META_FILE).exists() else None


def onnx_embedder(model: str, exports: Path, precision: str = "fp32") -> OnnxEmbedder | None:
    """`model` on ONNX Runtime, exported first if need be (and, for `precision` "int8", its int8 copy made:
    the fp32 export serves when the copy does not work here); None (with the reason logged) when the model
    cannot run on ONNX Runtime at all. Each failure is noted beside the exports, so it is tried once."""
    folder = export_folder(model, exports)
    if not (folder / META_FILE).exists():
        if _note(folder).exists():
            log.info("%s: not exported (%s); using sentence-transformers", model, _note(folder).read_text().strip())
            return None
        if not _attempt(
            lambda: export(model, folder), folder, f"{model}: cannot run on ONNX Runtime; using sentence-transformers"
        ):
            return None
    quantized = int8_folder(folder)
    if precision == "int8" and not _note(quantized).exists():
        if (quantized / META_FILE).exists() or _attempt(
            lambda: quantize(folder, quantized), quantized, f"{model}: no int8 copy, serving fp32"
        ):
            return OnnxEmbedder(quantized)
    return OnnxEmbedder(folder)


def int8_folder(folder: Path) -> Path:
    """Where the int8 copy of the export in `folder` lives."""
    return folder.with_name(folder.name + "-int8")


def _note(folder: Path) -> Path:
    """Where a failed attempt to make `folder` is recorded (delete it to try again)."""
    return folder.with_name(folder.name + ".failed")


def _attempt(make: Callable[[], None], folder: Path, failure: str) -> bool:
    """Run `make`; on failure log why and note it beside `folder` (unless it may pass next time)."""
    try:
        make()
    except Exception as exc:  # any failure leaves the next option (fp32, then torch) to serve the model
        reason = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("%s (%s)", failure, reason)
        if not isinstance(exc, (ImportError, OSError)):  # a missing package or a full disk: retry later
            _note(folder).parent.mkdir(parents=True, exist_ok=True)
            _note(folder).write_text(reason + "\n")
        return False
    return True


def quantize(folder: Path, out: Path) -> None:
    """An int8 copy of the export in `folder`: the weights of its matrix products stored per output channel
    as int8, activations quantized on the fly (ONNX Runtime's dynamic quantization), which runs about 1.4x
    faster on CPU. Its vectors are close to the original's, not equal (cosine about 0.995 on lesson text),
    so it names an index of its own; a copy that strays past `INT8_MIN_COSINE` on a probe is refused."""
    import numpy as np
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    staging = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        shutil.copy2(folder / TOKENIZER_FILE, staging / TOKENIZER_FILE)
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8")) | {"precision": "int8"}
        (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        quiet = _QuietQuantizer()
        logging.getLogger().addFilter(quiet)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize_dynamic(
                    str(folder / MODEL_FILE),
                    str(staging / MODEL_FILE),
                    op_types_to_quantize=["MatMul"],
                    per_channel=True,
                    weight_type=QuantType.QInt8,
                    extra_options={"DefaultTensorType": TensorProto.FLOAT},  # fused kernels carry no types
                )
        finally:
            logging.getLogger().removeFilter(quiet)
        original = np.asarray(OnnxEmbedder(folder).embed_batch(list(PROBES)))
        copy = np.asarray(OnnxEmbedder(staging).embed_batch(list(PROBES)))
        cosine = float((original * copy).sum(axis=1).min())
        if cosine < INT8_MIN_COSINE:
            raise ExportError(f"the int8 copy's vectors stray from the model's (cosine {cosine:.3f})")
        try:
            staging.rename(out)
        except OSError:  # another process made the same copy first: keep its copy
            if not (out / META_FILE).exists():
                raise
        log.info("made an int8 copy of %s in %s (lowest cosine to the original %.4f)", folder.name, out, cosine)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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


class _QuietQuantizer(logging.Filter):
    """Drops what ONNX Runtime's quantizer logs on the root logger: a line per tensor, and a warning on every
    run to pre-process the model first (shape inference meant for vision models); the outcome is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname or "quantization" not in record.pathname


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
