"""Any OpenAI-compatible chat endpoint: OpenAI, vLLM, Ollama's /v1, llama.cpp's server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx

from tutor.errors import BackendUnavailableError
from tutor.generate.base import ChatBackend
from tutor.settings import Settings


class OpenAIBackend(ChatBackend):
    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 120.0) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model or "default"
        self.headers = {"Authorization": f"Bearer {api_key or 'none'}"}
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIBackend:
        return cls(settings.llm_base_url, settings.llm_model, settings.llm_api_key)

    def _chat(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        """Stream the reply; a server that is down, errs or sends malformed data is unavailable, not a bad ask."""
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0,
                "stream": True}
        try:
            with httpx.stream("POST", self.url, json=body, headers=self.headers, timeout=self.timeout) as response:
                if response.status_code >= 400:
                    response.read()
                    raise BackendUnavailableError(
                        f"LLM endpoint {self.url} answered {response.status_code}: {response.text[:200]}"
                    )
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    choices = json.loads(data).get("choices") or [{}]
                    piece = (choices[0].get("delta") or {}).get("content")
                    if piece:
                        yield piece
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(f"LLM endpoint {self.url} failed: {type(exc).__name__}: {exc}") from exc
        except (json.JSONDecodeError, AttributeError, IndexError, TypeError) as exc:
            raise BackendUnavailableError(f"LLM endpoint {self.url} sent a malformed stream: {exc}") from exc
