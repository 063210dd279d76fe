"""A local GGUF model through llama-cpp-python (the optional `llamacpp` extra), in a child process.

The model runs in `tutor.generate.llamacpp_worker`, so a native crash costs one answer (the pipeline
falls back to quoting the lesson) and the next ask restarts the worker; the tutor itself never goes down.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator

from tutor.errors import BackendMisconfiguredError, BackendUnavailableError
from tutor.generate.base import ChatBackend
from tutor.generate.worker import ChildWorker
from tutor.settings import Settings


class LlamaCppBackend(ChatBackend):
    name = "llamacpp"

    def __init__(self, model_path: str, n_ctx: int = 4096, start_timeout: float = 180.0) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise BackendMisconfiguredError(
                "the llamacpp backend needs its extra: pip install 'lesson-tutor[llamacpp]'"
            )
        if not model_path or not os.path.isfile(model_path):
            raise BackendMisconfiguredError(f"GGUF model not found: {model_path!r} (set TUTOR_LLM_MODEL)")
        self.model_path = model_path
        self.worker = ChildWorker(
            [sys.executable, "-m", "tutor.generate.llamacpp_worker", model_path, str(n_ctx)],
            name="llama.cpp",
            start_timeout=start_timeout,
        )
        try:  # load now: a model that cannot load is reported at start, not on the first ask
            self.worker.start()
        except BackendUnavailableError as exc:
            raise BackendUnavailableError(f"llama.cpp could not load {model_path}: {exc}") from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> LlamaCppBackend:
        return cls(settings.gguf_model)

    def _chat(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        yield from self.worker.stream({"messages": messages, "max_tokens": max_tokens})

    def close(self) -> None:
        self.worker.close()
