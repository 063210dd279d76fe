"""Sentences of retrieved passages, with exact offsets, scored against a question.

Both the answerability gate and the extractive backend work on these: the gate asks "does any sentence
actually answer this?", the extractive answer quotes the best ones. Offsets are into the lesson text, so
a quoted sentence can be cited and highlighted exactly.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tutor.answer import Passage
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
    sigmoid,
    type_missing,
)
from tutor.store.vectors import vector_cache
from tutor.text import code_spans, in_spans, markdown_headings, sentence_spans

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sentence:
    """One sentence of one passage; `start`/`end` are offsets in the lesson text, `heading` the path of
    headings it sits under ("Lesson > Section > Subsection"), so a sentence is never read out of context."""

    text: str
    passage: Passage
    start: int
    end: int
    score: float = 0.0
    heading: str = ""


_CODE_LIKE = re.compile(r"\w\s*=\s*[\w\[\"'({]|\w\(|^\s*(?:import|from|def|class|return|print)\b|[{}]|^\s*\[\s*[\"'\d]")


def is_prose(text: str) -> bool:
    """A sentence a tutor can quote: words, not a table row, a data dump, an image or a line of code."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)  # images say nothing on their own
    # Inline code and markup named in a sentence ("set `top_k = 3`", "a <b> tag") leave it prose: one word.
    text = re.sub(r"`[^`\n]+`|<[^<>\n]+>", " code ", text)
    if _CODE_LIKE.search(text):
        return False
    words = re.findall(r"[A-Za-z][A-Za-z'’-]+", text)
    visible = re.sub(r"\s+", "", text)
    letters = sum(len(w) for w in words)
    return len(words) >= 3 and letters >= 0.6 * len(visible) and not text.lstrip().startswith("|")


def split_sentences(passage: Passage) -> list[Sentence]:
    """Prose sentences and list items of a passage; headings, code blocks, tables and data rows left out."""
    out = []
    text = passage.text
    code = code_spans(text)
    headings = markdown_headings(text)
    for a, b in sentence_spans(text):
        body = text[a:b]
        marker = re.match(r"(?:[-*+]\s+|\d+[.)]\s+|>\s*)", body)
        if marker:
            a, body = a + marker.end(), body[marker.end() :]
        if body and not body.startswith("#") and not in_spans(a, code) and is_prose(body):
            heading = heading_path(passage.section, [h for h in headings if h[2] < a])
            out.append(Sentence(body, passage, passage.start + a, passage.start + a + len(body), heading=heading))
    return out


def heading_path(section: str, headings_before: list[tuple[int, str, int]]) -> str:
    """The chunk's section path refined by the last heading inside the chunk before a sentence."""
    parts = section.split(" > ") if section else []
    if headings_before:
        last = headings_before[-1][1].strip()
        if last not in parts:
            parts.append(last)
    return " > ".join(parts)


def read_in_context(sentence: Sentence) -> str:
    """The sentence as a reader meets it, after the headings it sits under: what it is embedded and matched as."""
    heading = context_heading(sentence)
    return f"{heading}: {sentence.text}" if heading else sentence.text


def context_heading(sentence: Sentence) -> str:
    """The headings a sentence sits under, below the lesson title: "When: ..." under "RAG" is about RAG.

    The lesson title is left out: every sentence of the lesson shares it, so it tells them apart not at all.
    Passages without headings (SQuAD-style paragraphs) get an empty context, as before."""
    title = sentence.passage.title.strip().lower()
    parts = sentence.heading.split(" > ") if sentence.heading else []
    return " ".join(part for part in parts if part.strip().lower() != title)


GATE_PARAMS_PATH = Path(__file__).with_name("gate_params.json")

# Hand-set fallback used only when gate_params.json is missing: cosine and coverage up, missing entities,
# numbers, answer type or negation down. The calibration script replaces these with fitted weights.
DEFAULT_SENTENCE_MODEL: dict[str, Any] = {
    "features": ["cos_s", "cov_w", "bigram_w", "ent_miss_w", "num_miss_w", "type_miss_s", "neg_miss_w"],
    "weights": [4.0, 3.0, 1.0, -3.0, -2.0, -1.0, -1.0],
    "bias": -3.5,
}


@dataclass
class EvidenceAnalysis:
    """Every sentence of the passages with its feature values and fitted logit, plus question-level features."""

    query: QueryProfile
    sentences: list[Sentence]
    features: list[dict[str, float]]
    logits: list[float]
    overall: dict[str, float]

    def ranked(self) -> list[int]:
        """Sentence indexes, most likely answer first (ties keep passage order)."""
        return sorted(range(len(self.sentences)), key=lambda i: -self.logits[i])

    def only(self, keep: list[int]) -> EvidenceAnalysis:
        """The same analysis restricted to the sentences at `keep` (question-level features unchanged), so
        the gate can judge just the sentences that could be quoted as an answer."""
        return EvidenceAnalysis(
            self.query,
            [self.sentences[i] for i in keep],
            [self.features[i] for i in keep],
            [self.logits[i] for i in keep],
            self.overall,
        )


class EvidenceScorer:
    """Scores each passage sentence by how likely it answers the question, from the same features the gate uses.

    The extractive answer quotes the top sentence, so it must prefer the sentence that holds the asked-for
    entity/number, not merely the one most similar in embedding space.
    """

    def __init__(self, embedder: Any, params: dict[str, Any] | None = None) -> None:
        self.embedder = embedder
        self.cache = vector_cache(embedder)
        if params is None:
            params = load_params(GATE_PARAMS_PATH, {"sentence_model": DEFAULT_SENTENCE_MODEL})
        self.model = LinearModel.from_dict(params.get("sentence_model", DEFAULT_SENTENCE_MODEL))

    def score(self, question: str, passages: list[Passage]) -> list[Sentence]:
        """All sentences of the passages with .score set (higher = more likely to answer), best first."""
        return self.rank(self.analyse(question, passages))

    @staticmethod
    def rank(analysis: EvidenceAnalysis) -> list[Sentence]:
        """The analysed sentences with .score set, best first."""
        return [replace(analysis.sentences[i], score=sigmoid(analysis.logits[i])) for i in analysis.ranked()]

    def analyse(self, question: str, passages: list[Passage]) -> EvidenceAnalysis:
        """Features for every sentence of the passages (the ask flow runs this once and passes it on)."""
        query = QueryProfile.of(question)
        groups = [split_sentences(p) for p in passages]
        sentences = [s for group in groups for s in group]
        passage_cos = max((p.score for p in passages), default=0.0)
        if not sentences:
            overall = {
                "cos_max": passage_cos,
                "cov_all": 0.0,
                "frac_terms": 0.0,
                "ent_miss_all": 1.0,
                "num_miss_all": float(bool(query.numbers)),
                "num_none_all": float(bool(query.numbers)),
                "n_stems": float(len(set(query.stems))),
            }
            return EvidenceAnalysis(query, [], [], [], overall)
        in_context = [read_in_context(s) for s in sentences]
        vectors = self.cache.get([question, *in_context])
        cos = [float(c) for c in vectors[1:] @ vectors[0]]
        profiles = [TextProfile.of(text) for text in in_context]
        weights = idf_weights(profiles)
        everything = profiles[0].merged(profiles[1:])
        best_cos = max(cos)
        features = []
        offset = 0
        for group in groups:
            for j in range(len(group)):
                i = offset + j
                lo, hi = offset + max(0, j - 1), offset + min(len(group), j + 2)
                window = profiles[i].merged(profiles[k] for k in range(lo, hi) if k != i)
                features.append(
                    {
                        "cos_s": cos[i],
                        "cos_w": max(cos[lo:hi]),
                        "cos_gap": cos[i] - best_cos,
                        "cov_s": coverage(query, profiles[i], weights),
                        "cov_w": coverage(query, window, weights),
                        "miss_rare_w": missing_rare(query, window, weights),
                        "bigram_w": bigram_coverage(query, window),
                        "ent_miss_w": entity_missing(query, window),
                        "num_miss_w": number_missing(query, window),
                        "type_miss_s": type_missing(query, profiles[i]),
                        "neg_miss_w": negation_mismatch(query, window),
                        "has_ent": float(bool(query.entities)),
                        "has_num": float(bool(query.numbers)),
                    }
                )
            offset += len(group)
        unique = set(query.stems)
        overall = {
            "cos_max": max(best_cos, passage_cos),
            "cov_all": coverage(query, everything, weights),
            "frac_terms": sum(s in everything.stems for s in unique) / len(unique) if unique else 0.0,
            "ent_miss_all": entity_missing(query, everything),
            "num_miss_all": number_missing(query, everything),
            "num_none_all": float(bool(query.numbers) and not query.numbers & everything.numbers),
            "n_stems": float(len(unique)),
        }
        logits = [self.model.logit(f) for f in features]
        log.debug("evidence: %d sentences, best logit %.2f", len(sentences), max(logits))
        return EvidenceAnalysis(query, sentences, features, logits, overall)
