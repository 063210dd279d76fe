"""Pure metric functions: retrieval, refusal, answer overlap, citation checks and latency percentiles.

Kept free of models and indexes so each number can be checked by hand on a toy example (see
`tests/test_evals_metrics.py`); the code that feeds them real answers lives in `evals/scoring.py`.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from tutor.ground.cite import strip_framing
from tutor.text import MARKER_RUN, content_stems, strip_markers, unquoted
from tutor.text import sentences as text_sentences

_ARTICLES = re.compile(r"\b(a|an|the)\b")
RESTATED_SHARE = 2 / 3  # an answer is a restatement when at least this share of its content words was asked
_PUNCT = set(string.punctuation)


# --- text ----------------------------------------------------------------------------------------
def squad_normalize(text: str) -> str:
    """SQuAD's answer normalization: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in (text or "").lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _loose(text: str) -> str:
    """Case- and whitespace-insensitive form used to find a key fact inside an answer or passage."""
    return " ".join((text or "").lower().split())


def token_f1(prediction: str, references: Sequence[str]) -> float:
    """SQuAD token F1 of the prediction against the best-matching reference (0 when there is none)."""
    pred = squad_normalize(strip_markers(prediction)).split()
    best = 0.0
    for reference in references:
        gold = squad_normalize(reference).split()
        if not gold or not pred:
            continue
        common = sum((Counter(pred) & Counter(gold)).values())
        if common == 0:
            continue
        precision, recall = common / len(pred), common / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def key_fact_recall(answer: str, key_facts: Sequence[str], mode: str = "all") -> float | None:
    """Share of key facts found (case/whitespace-insensitive) in the answer; `mode="any"` scores 1 if any is.

    "any" is for datasets whose key facts are alternative annotations of one answer (SQuAD), where asking
    for all of them would punish a correct answer. None when the row has no key facts.
    """
    if not key_facts:
        return None
    text = _loose(strip_markers(answer))
    found = [_loose(fact) in text for fact in key_facts]
    if mode == "any":
        return 1.0 if any(found) else 0.0
    return sum(found) / len(found)


def answer_claims(answer: str, lead: str = "") -> list[tuple[str, list[int]]]:
    """The answer's sentences, each with the citation numbers that close its run of sentences (empty when
    uncited): "A. B. [1]" cites passage 1 for both, as a multi-sentence quote does."""
    text = answer[len(lead) :] if lead and answer.startswith(lead) else answer
    claims: list[tuple[str, list[int]]] = []
    parts = MARKER_RUN.split(text)
    for i in range(0, len(parts), 2):
        segment = parts[i]
        numbers = [int(n) for n in re.findall(r"\d+", parts[i + 1])] if i + 1 < len(parts) else []
        for sentence in text_sentences(segment):
            sentence = strip_framing(sentence)
            if re.search(r"[A-Za-z]{2}", sentence):
                claims.append((sentence, numbers))
    return claims


def restates_question(questions: Sequence[str], quoted: Sequence[str], share: float = RESTATED_SHARE) -> bool:
    """True when the quoted answer text only restates the question instead of answering it.

    Q = the distinct content stems (`tutor.text.content_stems`: stopwords dropped, plurals folded, 5-letter
    prefix stems) of the question texts (the question as typed and, for a follow-up, its standalone rewrite);
    A = the distinct content stems of the quoted texts (markers stripped). The answer restates the question
    when A is non-empty and |A ∩ Q| >= `share` * |A| ("nearly all": 2/3 by default, so at most one new
    content word for every three quoted). "Fine-tuning to teach the model new facts." for "Can fine-tuning
    teach the model new facts?" is a restatement (every quoted word was asked), and so is the learning
    objective "Explain what fine-tuning is and is not good for." for "What is fine-tuning actually good for?"
    (2 of 3); a quote that brings the lesson's explanation is not, however many question words it repeats.
    Quoted options ("Is it 'A' or 'B'?") are not counted as asked: an answer that picks one is no restatement.
    The answers measured quote whole lesson sentences, so a one-new-word quote is almost never an answer; a
    bare three-word factoid ("William ruled England." for "Who ruled England?") would count as one. Text with
    no content words at all is not counted (there is nothing to compare).
    """
    asked = {s for q in questions for s in content_stems(unquoted(q or ""))}  # quoted options are not asked
    said = {s for text in quoted for s in content_stems(strip_markers(text))}
    if not said:
        return False
    return len(said & asked) >= share * len(said) - 1e-9


# --- retrieval -----------------------------------------------------------------------------------
def dedupe(ids: Iterable[str]) -> list[str]:
    """Ids in order of first appearance: a chunk ranking becomes a lesson (or document) ranking."""
    seen: dict[str, None] = {}
    for i in ids:
        seen.setdefault(i, None)
    return list(seen)


def recall_at_k(ranking: Sequence[str], gold: Iterable[str], k: int) -> float | None:
    """Share of the gold ids found in the top k of the ranking; None without gold ids."""
    gold = set(gold)
    if not gold:
        return None
    return len(gold & set(ranking[:k])) / len(gold)


def reciprocal_rank(ranking: Sequence[str], gold: Iterable[str]) -> float | None:
    """1 / rank of the first gold id (0 when none is retrieved); None without gold ids."""
    gold = set(gold)
    if not gold:
        return None
    for rank, item in enumerate(ranking, 1):
        if item in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranking: Sequence[str], gains: Mapping[str, float], k: int = 10) -> float | None:
    """Normalized discounted cumulative gain (linear gains, log2 discount, as BEIR/trec_eval)."""
    positive = sorted((g for g in gains.values() if g > 0), reverse=True)
    if not positive:
        return None
    dcg = sum(gains.get(item, 0.0) / math.log2(rank + 1) for rank, item in enumerate(ranking[:k], 1))
    ideal = sum(g / math.log2(rank + 1) for rank, g in enumerate(positive[:k], 1))
    return dcg / ideal


def fact_coverage(texts: Sequence[str], key_facts: Sequence[str], mode: str = "all") -> float | None:
    """Share of key facts present in any of the texts (context recall: did retrieval bring the answer?)."""
    if not key_facts:
        return None
    joined = _loose("\n".join(texts))
    found = [_loose(fact) in joined for fact in key_facts]
    if mode == "any":
        return 1.0 if any(found) else 0.0
    return sum(found) / len(found)


# --- refusal -------------------------------------------------------------------------------------
def refusal_counts(pairs: Iterable[tuple[bool, bool]]) -> dict[str, int]:
    """Confusion counts from (should_refuse, refused) pairs; positive = refused."""
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for should, did in pairs:
        key = ("tp" if should else "fp") if did else ("fn" if should else "tn")
        counts[key] += 1
    return counts


def refusal_scores(counts: Mapping[str, int]) -> dict[str, float | None]:
    """Precision, recall and F1 of refusing (None where the question set has no unanswerable rows).

    Without unanswerable rows, refusal precision/recall are undefined rather than 0; the false-refusal
    rate (answerable rows refused) still applies and is reported beside them.
    """
    tp, fp, fn, tn = (counts.get(k, 0) for k in ("tp", "fp", "fn", "tn"))
    precision = recall = f1 = None
    if tp + fn:
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    total = tp + fp + fn + tn
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": (tp + tn) / total if total else None,
        "false_refusal_rate": fp / (fp + tn) if fp + tn else None,
    }


# --- grounding -----------------------------------------------------------------------------------
def citation_problem(quote: str, start: int, end: int, chunk_text: str | None, lesson_text: str | None) -> str | None:
    """Why a citation is invalid, or None when the quote is verbatim in its chunk and at its lesson span."""
    if not quote or not quote.strip():
        return "empty quote"
    if chunk_text is None:
        return "cited chunk is not in the index"
    if lesson_text is None:
        return "cited lesson is not in the index"
    if quote not in chunk_text:
        return "quote is not verbatim in the cited chunk"
    if not (0 <= start <= end <= len(lesson_text)) or lesson_text[start:end] != quote:
        return "quote does not match lesson_text[start:end]"
    return None


# --- aggregation ---------------------------------------------------------------------------------
def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that apply (None skipped); None when none apply."""
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100), like numpy's default; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None
