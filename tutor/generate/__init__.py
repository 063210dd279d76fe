"""Generate: answer backends behind one protocol (extractive, OpenAI-compatible, llama.cpp in a child
process) and the prompt files they read."""

from tutor.generate.registry import BACKENDS, CHAT_BACKENDS

__all__ = ["BACKENDS", "CHAT_BACKENDS", "AnswerBackend", "ChatBackend", "load_backend"]


def __getattr__(name: str):
    # The protocol module reads settings and prompts; import it only when asked for.
    if name in ("AnswerBackend", "ChatBackend", "load_backend"):
        from tutor.generate import base

        return getattr(base, name)
    raise AttributeError(name)
