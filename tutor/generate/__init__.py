"""Generate: answer backends behind one protocol (extractive, OpenAI-compatible, llama.cpp in a child
process) and the prompt files they read."""

from tutor.generate.base import AnswerBackend, ChatBackend, load_backend

__all__ = ["AnswerBackend", "ChatBackend", "load_backend"]
