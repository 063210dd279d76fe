"""The ONNX Runtime backend: an export of the bundled model gives its vectors and word pieces, is made once
and reused, and a model that cannot be exported is served by sentence-transformers instead."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, child_env

from tutor.errors import BackendMisconfiguredError
from tutor.settings import default_embed_model
from tutor.store.embedder import LazyEmbedder, load_embedder
from tutor.store.onnx import META_FILE, MODEL_FILE, OnnxEmbedder
from tutor.store.onnx_export import (
    INT8_MIN_COSINE,
    MATCH_TOLERANCE,
    export_folder,
    int8_folder,
    known_precision,
    onnx_embedder,
)
from tutor.store.sentence_transformers import SentenceTransformerEmbedder

TEXTS = [
    "Fine-tuning changes the model's weights; prompting and RAG leave them alone.",
    "short",
    "## Heading\n\n```python\nfor i in range(3):\n    print(i)  # a comment\n```",
    "Unicode: naïve café — “quotes” and emoji 🙂, 中文字符.",
    " ".join(["Retrieval grounds answers in the lesson's passages."] * 60),  # past the 256-token limit
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> OnnxEmbedder:
    embedder = onnx_embedder(default_embed_model(), tmp_path_factory.mktemp("exports"))
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


@pytest.mark.slow
def test_the_export_gives_the_models_vectors_and_word_pieces(exported, real_embedder):
    assert (exported.model_id, exported.dimension, exported.max_tokens) == (
        real_embedder.model_id,
        real_embedder.dimension,
        real_embedder.max_tokens,
    )
    assert exported.collection_slug == real_embedder.collection_slug  # one index serves both backends
    # batched in an order of its own (longest first): each vector still lands at its text's place
    onnx_vectors = np.asarray(exported.embed_batch(TEXTS, batch_size=2))
    torch_vectors = np.asarray(real_embedder.embed_batch(TEXTS, batch_size=2))
    assert np.abs(onnx_vectors - torch_vectors).max() <= MATCH_TOLERANCE
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)
    assert np.abs(np.asarray(exported.embed_query(TEXTS[0])) - torch_vectors[0]).max() <= MATCH_TOLERANCE
    assert exported.special_tokens == real_embedder.special_tokens == 2
    for text in TEXTS:
        assert exported.count_tokens(text) == real_embedder.count_tokens(text)
        assert exported.token_offsets(text) == real_embedder.token_offsets(text)


@pytest.mark.slow
def test_an_export_is_made_once_and_reused(exported, tmp_path_factory):
    model = default_embed_model()
    exports = tmp_path_factory.getbasetemp() / "reuse"
    first = onnx_embedder(model, exports)
    folder = export_folder(model, exports)
    assert first is not None and (folder / META_FILE).exists()
    made = (folder / MODEL_FILE).stat().st_mtime_ns
    again = load_embedder(model, backend="onnx", exports=exports)
    assert isinstance(again, OnnxEmbedder) and (folder / MODEL_FILE).stat().st_mtime_ns == made
    assert not list(exports.glob("*.tmp-*"))  # no staging folder left behind


@pytest.mark.slow
def test_a_model_that_did_not_export_is_served_by_sentence_transformers(tmp_path):
    model = default_embed_model()
    folder = export_folder(model, tmp_path)
    folder.with_name(folder.name + ".failed").write_text("ExportError: an operator the exporter lacks\n")
    assert isinstance(load_embedder(model, backend="auto", exports=tmp_path), SentenceTransformerEmbedder)
    assert not folder.exists()  # the note stops a retry on every start
    with pytest.raises(BackendMisconfiguredError, match="TUTOR_EMBED_BACKEND=torch"):
        load_embedder(model, backend="onnx", exports=tmp_path)


@pytest.mark.slow
def test_torch_backend_never_exports(tmp_path):
    embedder = load_embedder(default_embed_model(), backend="torch", exports=tmp_path)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_one_changed_lesson_is_embedded_without_torch(tmp_path, seed_corpus):
    """Once the model is exported, `tutor ingest` of a changed lesson loads ONNX Runtime only."""
    env = child_env(TUTOR_HOME=str(tmp_path / "home"), TUTOR_CORPUS=str(seed_corpus))
    env["TUTOR_MODEL_CACHE"] = str(tmp_path / "models")
    probe = (
        "import sys; from tutor.cli import main; rc = main(['ingest', '--json']); "
        "print('torch loaded' if 'torch' in sys.modules else 'torch not loaded', rc)"
    )
    first = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True)
    assert first.returncode == 0 and "torch loaded 0" in first.stdout, first.stderr[-2000:]  # exported now
    lesson = sorted(seed_corpus.glob("*.md"))[0]
    lesson.write_text(lesson.read_text(encoding="utf-8") + "\n\nOne more sentence about retrieval.\n")
    again = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True)
    assert '"embedded": ' in again.stdout and '"embedded": 0' not in again.stdout, again.stdout[-2000:]
    assert "torch not loaded 0" in again.stdout, again.stderr[-2000:]


@pytest.mark.slow
def test_an_int8_copy_is_close_to_the_model_and_names_an_index_of_its_own(exported, tmp_path_factory):
    model = default_embed_model()
    exports = tmp_path_factory.getbasetemp() / "int8"
    first = load_embedder(model, lazy=True, backend="auto", exports=exports, precision="int8")
    assert isinstance(first, OnnxEmbedder)  # nothing settled yet: loaded now, to know which index it names
    assert first.precision == "int8" and first.collection_slug == exported.collection_slug + "-int8"
    assert known_precision(model, exports, "int8") == "int8" and known_precision(model, exports, "fp32") == "fp32"
    copy = int8_folder(export_folder(model, exports))
    made = (copy / MODEL_FILE).stat().st_mtime_ns
    lazy = load_embedder(model, lazy=True, backend="auto", exports=exports, precision="int8")
    assert isinstance(lazy, LazyEmbedder) and not lazy.loaded
    assert lazy.collection_slug == first.collection_slug
    vectors = np.asarray(lazy.embed_batch(TEXTS))
    assert lazy.loaded and (copy / MODEL_FILE).stat().st_mtime_ns == made  # the copy is made once
    original = np.asarray(exported.embed_batch(TEXTS))
    cosines = (vectors * original).sum(axis=1)
    assert cosines.min() >= INT8_MIN_COSINE and cosines.max() < 1 - 1e-6  # close to fp32, and not fp32 itself
    assert [lazy.count_tokens(t) for t in TEXTS] == [exported.count_tokens(t) for t in TEXTS]
    torch_lazy = load_embedder(model, lazy=True, backend="torch", exports=exports, precision="int8")
    assert torch_lazy.collection_slug == exported.collection_slug  # torch has no int8 copy: fp32 vectors


@pytest.mark.slow
def test_an_int8_copy_that_failed_its_check_leaves_the_fp32_export_serving(exported, tmp_path_factory):
    model = default_embed_model()
    exports = tmp_path_factory.getbasetemp() / "int8-failed"
    assert onnx_embedder(model, exports) is not None
    copy = int8_folder(export_folder(model, exports))
    copy.with_name(copy.name + ".failed").write_text("ExportError: the int8 copy's vectors stray (cosine 0.9)\n")
    assert known_precision(model, exports, "int8") == "fp32"
    lazy = load_embedder(model, lazy=True, backend="auto", exports=exports, precision="int8")
    assert isinstance(lazy, LazyEmbedder) and lazy.collection_slug == exported.collection_slug
    assert lazy.real.precision == "fp32" and not copy.exists()
