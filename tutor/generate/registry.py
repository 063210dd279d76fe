"""The answer backends by name: the one list the CLI's choices, settings validation and `load_backend` use.

Adding a backend is one module with a class that has `from_settings(settings)`, plus one line here.
"""

from __future__ import annotations

from typing import NamedTuple


class BackendEntry(NamedTuple):
    target: str  # "module:Class", imported only when the backend is used
    uses_llm: bool  # a chat model (can also judge and condense), not the extractive quoter


BACKENDS: dict[str, BackendEntry] = {
    "extractive": BackendEntry("tutor.generate.extractive:ExtractiveBackend", False),
    "openai": BackendEntry("tutor.generate.openai:OpenAIBackend", True),
    "llamacpp": BackendEntry("tutor.generate.llamacpp:LlamaCppBackend", True),
}

CHAT_BACKENDS = tuple(name for name, entry in BACKENDS.items() if entry.uses_llm)
