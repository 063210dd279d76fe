"""An optional LLM judge of claim support (RAGAS-style faithfulness) through any chat answer backend.

`tutor eval --judge openai|llamacpp` asks the model, for every answer sentence, whether its cited passage
supports it; the share of "yes" is reported as `grounding.llm_judge_supported_rate`, beside the built-in
support scorer's `supported_rate`.
"""

from __future__ import annotations

from tutor.generate import ChatBackend, load_backend
from tutor.generate.templates import load_prompt
from tutor.settings import Settings


class LLMJudge:
    def __init__(self, backend: ChatBackend, max_evidence_chars: int = 3000) -> None:
        self.backend = backend
        self.max_evidence_chars = max_evidence_chars

    @classmethod
    def from_settings(cls, settings: Settings, backend_name: str) -> LLMJudge:
        backend = load_backend(settings.with_(llm=backend_name))
        if not isinstance(backend, ChatBackend):
            raise ValueError(f"--judge needs an LLM backend (openai or llamacpp), not {backend_name!r}")
        return cls(backend)

    def supported(self, claim: str, evidence: str) -> bool:
        prompt = load_prompt("judge")
        messages = [
            {"role": "system", "content": prompt["system"]},
            {
                "role": "user",
                "content": prompt["user"].format(
                    claim=claim, evidence=evidence[: self.max_evidence_chars].replace('"""', "'''")
                ),
            },
        ]
        return self.backend.complete(messages, 3).strip().lower().startswith("yes")
