"""Answer backends behind one protocol; `load_backend` picks one by name (`TUTOR_LLM`)."""

from tutor.backends.base import AnswerBackend, ChatBackend, load_backend

__all__ = ["AnswerBackend", "ChatBackend", "load_backend"]
