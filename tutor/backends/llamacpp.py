"""A local GGUF model in process through llama-cpp-python (the optional `llamacpp` extra)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

from tutor.backends.base import ChatBackend


class LlamaCppBackend(ChatBackend):
    name = "llamacpp"

    def __init__(self, model_path: str, n_ctx: int = 4096) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise RuntimeError("the llamacpp backend needs the extra: pip install 'lesson-tutor[llamacpp]'") from exc
        if not model_path or not os.path.exists(model_path):
            raise RuntimeError(f"GGUF model not found: {model_path!r} (set TUTOR_LLM_MODEL)")
        self.model_path = model_path
        self._llm = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=os.cpu_count() or 2, verbose=False)
        self._lock = threading.Lock()  # one llama context serves one generation at a time

    def _chat(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        with self._lock:
            for part in self._llm.create_chat_completion(
                messages=messages, max_tokens=max_tokens, temperature=0.0, stream=True
            ):
                piece = part["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
