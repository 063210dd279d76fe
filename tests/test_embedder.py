"""The embedding protocol's lazy face: a model folder's identity is read from its config files, and the
model loads only when something is embedded, so `tutor ingest` with nothing changed never loads it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO, SEED_CORPUS, HashingEmbedder, child_env

from tutor.settings import default_embed_model
from tutor.store.embedder import LazyEmbedder, _folder_shape, load_embedder


def test_a_lazy_embedder_loads_its_model_on_first_use_only():
    loads = []

    def load():
        loads.append(1)
        return HashingEmbedder("m", dimension=64)

    lazy = LazyEmbedder("m", 64, 64, load)
    assert lazy.collection_slug == HashingEmbedder("m", dimension=64).collection_slug and not lazy.loaded
    assert lazy.count_tokens("two words") > 0 and len(lazy.embed_query("hello")) == 64
    lazy.embed_batch(["a", "b"])
    assert loads == [1]


def test_folder_shape_reads_dense_layers_and_refuses_unknown_modules(tmp_path):
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "2_Dense").mkdir()
    (tmp_path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 768}))
    (tmp_path / "2_Dense" / "config.json").write_text(json.dumps({"out_features": 256}))
    modules = [
        {"path": "", "type": "sentence_transformers.models.Transformer"},
        {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    assert _folder_shape(tmp_path) == (256, 128)
    modules.append({"path": "3_Odd", "type": "somewhere.Unknown"})
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    assert _folder_shape(tmp_path) is None
    assert _folder_shape(tmp_path / "missing") is None


@pytest.mark.slow
def test_the_bundled_model_reads_the_same_lazily_and_loaded():
    model = default_embed_model()
    lazy, real = load_embedder(model, lazy=True), load_embedder(model)
    assert isinstance(lazy, LazyEmbedder) and not lazy.loaded
    assert (lazy.model_id, lazy.dimension, lazy.max_tokens) == (real.model_id, real.dimension, real.max_tokens)
    assert lazy.collection_slug == real.collection_slug


@pytest.mark.slow
def test_an_unchanged_ingest_never_loads_the_model(tmp_path):
    env = child_env(TUTOR_HOME=str(tmp_path / "home"), TUTOR_CORPUS=str(SEED_CORPUS))
    probe = (
        "import sys; from tutor.cli import main; rc = main(['ingest', '--json']); "
        "loaded = {'torch', 'onnxruntime'} & set(sys.modules); "
        "print('model loaded' if loaded else 'model not loaded', rc)"
    )
    first = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True)
    assert first.returncode == 0 and "model loaded 0" in first.stdout, first.stderr[-2000:]
    again = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True)
    assert '"embedded": 0' in again.stdout and "model not loaded 0" in again.stdout, again.stderr[-2000:]
