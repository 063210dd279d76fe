"""The answer-backend protocol, and the shared part of every chat-model backend.

A backend turns a question and its numbered passages into answer text whose sentences carry `[n]`
markers pointing at those passages, or `NOT_IN_LESSON` (`tutor.generate.draft`) when the passages do not
answer. The pipeline then verifies and cites; backends never see the rules for that, so a new backend is
only its `_chat` method.
"""

from __future__ import annotations

import importlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Protocol

from tutor.answer import Passage
from tutor.errors import BackendMisconfiguredError, BackendUnavailableError
from tutor.generate.draft import Draft, parse_draft, stop_reason
from tutor.generate.registry import BACKENDS
from tutor.generate.templates import load_prompt
from tutor.ground.evidence import Sentence
from tutor.settings import Settings


class AnswerBackend(Protocol):
    name: str
    uses_llm: bool

    def generate(self, question: str, passages: list[Passage], sentences: list[Sentence]) -> Iterator[str]:
        """Answer text in pieces, with `[n]` markers for passage n (1-based)."""
        ...

    def draft(self, question: str, passages: list[Passage], sentences: list[Sentence]) -> Draft:
        """The whole answer as claims with the passages they cite (what verification reads)."""
        ...

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        """The follow-up rewritten as a standalone question."""
        ...


class ChatBackend(ABC):
    """An LLM behind a chat API: subclasses implement `_chat`; prompts come from `prompts/*.yaml`."""

    name = "chat"
    uses_llm = True
    max_tokens = 200
    _slots: threading.BoundedSemaphore | None = None
    slot_timeout = 60.0

    @abstractmethod
    def _chat(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        """Stream the assistant's reply to `messages` as text pieces (temperature 0)."""

    def limit(self, concurrency: int, timeout: float) -> ChatBackend:
        """At most `concurrency` requests in flight; one that waits longer than `timeout` for a slot fails
        as unavailable (the ask then falls back to the extractive answer) instead of queueing forever."""
        self._slots = threading.BoundedSemaphore(concurrency)
        self.concurrency, self.slot_timeout = concurrency, timeout
        return self

    def _limited(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        """`_chat` holding one slot until the reply ends or the caller closes the stream."""
        slots = self._slots
        if slots is None:
            yield from self._chat(messages, max_tokens)
            return
        if not slots.acquire(timeout=self.slot_timeout):
            raise BackendUnavailableError(
                f"{self.name}: all {self.concurrency} LLM slots stayed busy for {self.slot_timeout:.0f} s"
            )
        try:
            yield from self._chat(messages, max_tokens)
        finally:
            slots.release()

    def generate(self, question: str, passages: list[Passage], sentences: list[Sentence]) -> Iterator[str]:
        yield from self._limited(answer_messages(question, passages), self.max_tokens)

    def draft(self, question: str, passages: list[Passage], sentences: list[Sentence]) -> Draft:
        """The reply parsed; generation stops once the model has said NOT_IN_LESSON or is looping, since
        nothing it adds after that can be used (a small model can otherwise repeat itself to `max_tokens`)."""
        text = ""
        pieces = self.generate(question, passages, sentences)
        try:
            for piece in pieces:
                text += piece
                if stop_reason(text):
                    break
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # cancels the request in the server or worker
        return parse_draft(text, whole_sentences=True)

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        """The whole reply at once (condensing, judging)."""
        pieces = self._limited(messages, max_tokens)
        try:
            return "".join(pieces)
        finally:
            pieces.close()

    def condense(self, question: str, history: list[dict[str, str]]) -> str:
        prompt = load_prompt("condense")
        turns = "\n".join(f"{t['role']}: {t['content']}" for t in history[-6:])
        messages = [
            {"role": "system", "content": prompt["system"]},
            {"role": "user", "content": prompt["user"].format(history=turns, question=question)},
        ]
        rewritten = self.complete(messages, 60).strip().splitlines()
        return rewritten[0].strip() if rewritten and rewritten[0].strip() else question


def answer_messages(question: str, passages: list[Passage]) -> list[dict[str, str]]:
    """System rules, then numbered and delimited passages and the question as data."""
    prompt = load_prompt("answer")
    blocks = "\n".join(
        prompt["passage"].format(n=i, section=p.section or p.title, text=p.text.replace('"""', "'''"))
        for i, p in enumerate(passages, 1)
    )
    title = passages[0].title if passages else ""
    user = prompt["user"].format(title=title, passages=blocks, question=question.replace(">>>", ">> >"))
    return [{"role": "system", "content": prompt["system"]}, {"role": "user", "content": user}]


def load_backend(settings: Settings) -> AnswerBackend:
    """The backend `settings.llm` names (see `tutor.generate.registry`), built from the settings."""
    entry = BACKENDS.get(settings.llm.strip().lower())
    if entry is None:
        raise BackendMisconfiguredError(f"unknown answer backend {settings.llm!r}: use {', '.join(BACKENDS)}")
    module, _, cls = entry.target.partition(":")
    backend = getattr(importlib.import_module(module), cls).from_settings(settings)
    if isinstance(backend, ChatBackend):
        backend.limit(settings.llm_concurrency, settings.llm_timeout)
    return backend
