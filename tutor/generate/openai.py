"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama's /v1, llama.cpp's server) through the `openai`
SDK: one pooled client per backend, connect/read timeouts, retries on connection errors, typed errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai

from tutor.errors import BackendUnavailableError
from tutor.generate.base import ChatBackend
from tutor.settings import Settings


class OpenAIBackend(ChatBackend):
    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 120.0,
        connect_timeout: float = 5.0,
        retries: int = 1,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model or "default"
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or "none",
            max_retries=retries,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIBackend:
        return cls(settings.llm_base_url, settings.llm_model, settings.llm_api_key, timeout=settings.llm_timeout)

    def _chat(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        """Stream the reply; a server that is down, errs or sends malformed data is unavailable, not a bad ask."""
        try:
            stream = self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                max_tokens=max_tokens,
                temperature=0,
                stream=True,
            )
            with stream:
                for chunk in stream:
                    piece = chunk.choices[0].delta.content if chunk.choices and chunk.choices[0].delta else None
                    if piece:
                        yield piece
        except openai.APIStatusError as exc:
            raise BackendUnavailableError(
                f"LLM endpoint {self.base_url} answered {exc.status_code}: {str(exc.message)[:200]}"
            ) from exc
        except openai.APIError as exc:  # connection refused, timeout, malformed stream
            raise BackendUnavailableError(f"LLM endpoint {self.base_url} failed: {type(exc).__name__}: {exc}") from exc
        except (ValueError, AttributeError, TypeError) as exc:  # a line that is not the JSON the API promises
            raise BackendUnavailableError(f"LLM endpoint {self.base_url} sent a malformed stream: {exc}") from exc
