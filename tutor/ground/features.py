"""Lexical and semantic features shared by the evidence scorer, the answerability gate and the support scorer.

Embedding similarity alone barely tells an answerable question from an adversarial near-miss (one entity
swapped, a number changed, a negation added), so every score here mixes the cosine with cheap, explainable
lexical checks: IDF-weighted term coverage, question entities/numbers missing from the evidence, negation
mismatch and "does the sentence hold the kind of thing the question asks for". The weights that combine
them are fitted on data (see `evals/calibrate_gate.py`) and loaded as `LinearModel`s from JSON.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.text import STOPWORDS, content_stems, stem

log = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTED = re.compile(r"[\"“]([^\"”]{2,60})[\"”]")
_NEGATIONS = frozenset(
    "not no never none neither nor without cannot isn't aren't wasn't weren't don't doesn't "
    "didn't won't can't couldn't shouldn't hasn't haven't hadn't".split()
)
# Capitalized words that start questions or commands but are not entities.
_LEADING = STOPWORDS | frozenset(
    "name list give describe explain tell define identify state please according besides other along through "
    "after before during however although while since because several each every both here unlike despite "
    "following today now yet thus hence".split()
)
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fifteen twenty thirty forty fifty "
    "hundred hundreds thousand thousands million millions billion billions dozen dozens half twice first second "
    "third fourth fifth percent".split()
)
_DATE_WORDS = _NUMBER_WORDS | frozenset(
    "january february march april may june july august september october november december century centuries "
    "decade decades year years bc ad bce ce spring summer autumn fall winter".split()
)
_QTYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "number",
        re.compile(
            r"\bhow (many|much|long|old|far|large|big|tall|high|often|fast)\b|\bwhat (percentage|"
            r"percent|number|amount|proportion|fraction)\b"
        ),
    ),
    # "when"/"where"/"who" ask for a date/place/person only when they lead the question ("What should I do when
    # training fails?" asks for an action, not a date), and "when" only in the past tense ("When should I use
    # RAG?" asks for a condition; "When did the war end?" for a date).
    (
        "date",
        re.compile(
            r"^\W*(?:(?:and|so|but|then)\s+)?when\s+(?:did|was|were|had)\b|"
            r"\b(what|which|in what) (year|century|decade|date|month|day|time period|era)\b"
        ),
    ),
    ("person", re.compile(r"^\W*(?:(?:and|so|but|then)\s+)?who(m|se)?\b|\b(by|to|for|with) whom\b")),
    (
        "place",
        re.compile(
            r"^\W*(?:(?:and|so|but|then)\s+)?where\b|"
            r"\b(what|which) (country|city|state|region|continent|town|place|location)\b"
        ),
    ),
)


def numbers(text: str) -> set[str]:
    """Digit strings with separators removed: `1,000` and `1000` match, `10th` gives `10`."""
    return {re.sub(r"[.,]", "", n) for n in _NUMBER.findall(text)}


def has_negation(text: str) -> bool:
    return any(w in _NEGATIONS or w.endswith("n't") for w in re.findall(r"[a-z']+", text.lower()))


def capitalized(text: str, skip_first: bool = True) -> list[str]:
    """Capitalized words (proper-noun candidates); the first word is kept only if it is not a function word."""
    words = _WORD.findall(text)
    out = []
    for i, word in enumerate(words):
        base = re.split(r"['’]", word)[0]  # "What's" is "What", "I've" is "I"
        if not word[0].isupper() or len(base) == 1:  # "I" and initials are not names to look for
            continue
        if i == 0 and (skip_first or base.lower() in _LEADING):
            continue
        if base.lower() in _LEADING and i > 0 and not word.isupper():
            continue
        out.append(word)
    return out


@dataclass(frozen=True)
class QueryProfile:
    """What a question (or claim) hinges on: its content words, entities, numbers, asked-for type, negation."""

    text: str
    stems: tuple[str, ...]
    entities: frozenset[str]
    numbers: frozenset[str]
    qtype: str
    negated: bool

    @classmethod
    def of(cls, text: str, first_word_entity: bool = True) -> QueryProfile:
        lowered = text.lower()
        qtype = next((name for name, pattern in _QTYPES if pattern.search(lowered)), "")
        entities = {stem(w) for w in capitalized(text, skip_first=not first_word_entity)}
        for quoted in _QUOTED.findall(text):
            entities.update(content_stems(quoted))
        nums = numbers(text)
        entities -= nums
        return cls(text, tuple(content_stems(text)), frozenset(entities), frozenset(nums), qtype, has_negation(text))


@dataclass
class TextProfile:
    """One stretch of evidence, pre-tokenized once: stems, stem bigrams, numbers, capitalized words."""

    text: str
    stems: set[str] = field(default_factory=set)
    bigrams: set[tuple[str, str]] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    caps: set[str] = field(default_factory=set)
    lower_words: set[str] = field(default_factory=set)
    negated: bool = False

    @classmethod
    def of(cls, text: str) -> TextProfile:
        seq = content_stems(text)
        words = {w.lower() for w in _WORD.findall(text)}
        return cls(
            text,
            set(seq),
            set(zip(seq, seq[1:], strict=False)),
            numbers(text),
            {stem(w) for w in capitalized(text, skip_first=False)},
            words,
            has_negation(text),
        )

    def merged(self, others: Iterable[TextProfile]) -> TextProfile:
        out = TextProfile(
            self.text,
            set(self.stems),
            set(self.bigrams),
            set(self.numbers),
            set(self.caps),
            set(self.lower_words),
            self.negated,
        )
        for other in others:
            out.stems |= other.stems
            out.bigrams |= other.bigrams
            out.numbers |= other.numbers
            out.caps |= other.caps
            out.lower_words |= other.lower_words
            out.negated = out.negated or other.negated
        return out


def idf_weights(docs: Sequence[TextProfile]) -> dict[str, float]:
    """Smoothed IDF over the evidence's own sentences; a stem in none of them gets the highest weight."""
    n = len(docs)
    df: dict[str, int] = {}
    for doc in docs:
        for s in doc.stems:
            df[s] = df.get(s, 0) + 1
    return {s: math.log((n + 1) / (c + 0.5)) + 1.0 for s, c in df.items()} | {"": math.log((n + 1) / 0.5) + 1.0}


def idf(weights: dict[str, float], s: str) -> float:
    return weights.get(s, weights[""])


def coverage(query: QueryProfile, doc: TextProfile, weights: dict[str, float]) -> float:
    """IDF-weighted share of the query's content stems present in `doc` (0 when the query has none)."""
    unique = set(query.stems)
    if not unique:
        return 0.0
    total = sum(idf(weights, s) for s in unique)
    return sum(idf(weights, s) for s in unique if s in doc.stems) / total


def missing_rare(query: QueryProfile, doc: TextProfile, weights: dict[str, float]) -> float:
    """IDF of the rarest query stem missing from `doc`, relative to the largest possible IDF."""
    missing = [idf(weights, s) for s in set(query.stems) if s not in doc.stems]
    return max(missing, default=0.0) / weights[""]


def bigram_coverage(query: QueryProfile, doc: TextProfile) -> float:
    """Share of adjacent query stem pairs that also sit next to each other in `doc` (either order)."""
    pairs = set(zip(query.stems, query.stems[1:], strict=False))
    if not pairs:
        return 0.0
    return sum((a, b) in doc.bigrams or (b, a) in doc.bigrams for a, b in pairs) / len(pairs)


def entity_missing(query: QueryProfile, doc: TextProfile) -> float:
    """Share of the query's entities (proper nouns, quoted terms) found nowhere in `doc`."""
    if not query.entities:
        return 0.0
    return sum(e not in doc.stems and e not in doc.caps for e in query.entities) / len(query.entities)


def number_missing(query: QueryProfile, doc: TextProfile) -> float:
    """1 if a number the query states is absent from `doc`: the classic changed-number near-miss."""
    return float(any(n not in doc.numbers for n in query.numbers))


def type_missing(query: QueryProfile, doc: TextProfile) -> float:
    """1 if the question asks for a kind of thing (number, date, person, place) that `doc` does not hold."""
    if not query.qtype:
        return 0.0
    if query.qtype == "number":
        found = bool(doc.numbers) or bool(doc.lower_words & _NUMBER_WORDS)
    elif query.qtype == "date":
        found = bool(doc.numbers) or bool(doc.lower_words & _DATE_WORDS)
    else:
        found = bool(doc.caps - query.entities)
    return float(not found)


def negation_mismatch(query: QueryProfile, doc: TextProfile) -> float:
    return float(query.negated and not doc.negated)


@dataclass(frozen=True)
class LinearModel:
    """A logistic model over named features, standardized with the training mean/scale."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def logit(self, values: dict[str, float]) -> float:
        total = self.bias
        for name, w, m, s in zip(self.features, self.weights, self.mean, self.scale, strict=True):
            total += w * (values.get(name, 0.0) - m) / s
        return total

    def prob(self, values: dict[str, float]) -> float:
        return sigmoid(self.logit(values))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinearModel:
        n = len(data["features"])
        return cls(
            tuple(data["features"]),
            tuple(float(w) for w in data["weights"]),
            float(data["bias"]),
            tuple(float(m) for m in data.get("mean", [0.0] * n)),
            tuple(float(s) or 1.0 for s in data.get("scale", [1.0] * n)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "mean": [round(m, 6) for m in self.mean],
            "scale": [round(s, 6) for s in self.scale],
        }


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def load_params(path: Path, defaults: dict[str, Any]) -> dict[str, Any]:
    """Calibrated parameters from `path`, falling back to baked-in defaults when it is absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        log.info("%s not found: using built-in defaults", path.name)
        return defaults
    except (OSError, ValueError) as exc:
        log.warning("could not read %s (%s): using built-in defaults", path, exc)
        return defaults
    return {**defaults, **data}
