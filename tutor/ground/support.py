"""Does a cited passage support an answer sentence? Checks an LLM's claim against the lesson text it cites.

A paraphrase is fine; a changed number, a name the evidence never mentions, or a dropped "not" is not.
Embedding similarity rewards topical overlap, so it is combined with lexical checks (IDF-weighted coverage
of the claim's words, missing entities/numbers, negation mismatch) in a logistic model fitted by
`evals/calibrate_support.py` and stored in `tutor/ground/support_params.json`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from tutor.answer import Passage
from tutor.ground.evidence import split_sentences
from tutor.ground.features import (
    LinearModel,
    QueryProfile,
    TextProfile,
    bigram_coverage,
    coverage,
    entity_missing,
    idf_weights,
    load_params,
    missing_rare,
    negation_mismatch,
    number_missing,
)
from tutor.store.vectors import vector_cache

log = logging.getLogger(__name__)

SUPPORT_PARAMS_PATH = Path(__file__).with_name("support_params.json")
SUPPORT_FEATURES = ("cos_best", "cov_all", "cov_best", "miss_rare", "bigram_all", "ent_miss", "num_miss", "neg_miss")
# Fallback when support_params.json is absent: similarity and coverage up, invented numbers/names down.
DEFAULT_SUPPORT_PARAMS: dict[str, Any] = {
    "model": {
        "features": ["cos_best", "cov_all", "ent_miss", "num_miss", "neg_miss"],
        "weights": [5.0, 4.0, -3.0, -4.0, -1.5],
        "bias": -5.0,
    },
    "threshold": 0.5,
}


class SupportScorer:
    """How well an evidence text supports a claim, 0..1; `supported` applies the calibrated threshold."""

    def __init__(self, embedder: Any, threshold: float | None = None) -> None:
        self.embedder = embedder
        self.cache = vector_cache(embedder)
        params = load_params(SUPPORT_PARAMS_PATH, DEFAULT_SUPPORT_PARAMS)
        self.model = LinearModel.from_dict(params["model"])
        self.threshold = float(params["threshold"]) if threshold is None else threshold
        self._recent: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def score(self, claim: str, evidence: str) -> float:
        """Probability-like support of `claim` by `evidence` (memoized: citing asks the same pair repeatedly)."""
        key = (claim, evidence)
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]
        value = self.model.prob(self.features(claim, evidence))
        with self._lock:
            self._recent[key] = value
            while len(self._recent) > 512:
                self._recent.popitem(last=False)
        return value

    def supported(self, claim: str, evidence: str) -> bool:
        return self.score(claim, evidence) >= self.threshold

    def features(self, claim: str, evidence: str) -> dict[str, float]:
        """Feature values for one claim/evidence pair (the calibration script fits on exactly these)."""
        query = QueryProfile.of(claim)
        passage = Passage("", "", "", "", "", evidence, 0, len(evidence))
        texts = [s.text for s in split_sentences(passage)] or [evidence]
        profiles = [TextProfile.of(t) for t in texts]
        weights = idf_weights(profiles)
        everything = profiles[0].merged(profiles[1:])
        vectors = self.cache.get([claim, *texts])
        cos = vectors[1:] @ vectors[0]
        best = int(cos.argmax())
        window = profiles[best].merged(profiles[max(0, best - 1) : best] + profiles[best + 1 : best + 2])
        return {
            "cos_best": float(cos[best]),
            "cov_all": coverage(query, everything, weights),
            "cov_best": coverage(query, window, weights),
            "miss_rare": missing_rare(query, everything, weights),
            "bigram_all": bigram_coverage(query, everything),
            "ent_miss": entity_missing(query, everything),
            "num_miss": number_missing(query, everything),
            "neg_miss": negation_mismatch(query, everything),
        }
