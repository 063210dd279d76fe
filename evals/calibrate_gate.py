"""Fit and measure the answerability gate on SQuAD 2.0 (adversarial unanswerable questions).

Articles in file order: the first 8 articles' questions TUNE the models and thresholds, the other 8 REPORT.
Each question is scoped to its own paragraph (one Passage, score = cosine to the question), like a lesson
whose retrieval already found the right place. Positive class = refused: an unanswerable question must be
refused. Writes `tutor/ground/gate_params.json` (loaded by the gate) and `evals/results/gate_calibration.json`.

    .venv/bin/python -m evals.calibrate_gate
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.preprocessing import StandardScaler

from tutor.answer import Passage
from tutor.ground.evidence import GATE_PARAMS_PATH, EvidenceAnalysis, EvidenceScorer, split_sentences
from tutor.ground.features import LinearModel
from tutor.ground.gate import AnswerabilityGate, GateThresholds, injection_match, question_features
from tutor.store.vectors import vector_cache

log = logging.getLogger("calibrate_gate")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
SQUAD = SHARED / "bench" / "squad2"
RESULTS = REPO / "evals" / "results" / "gate_calibration.json"
TUNE_ARTICLES = 8
MIN_ANSWER_RECALL = 0.96  # refuse at most 1 in 25 answerable questions: learners paraphrase more than SQuAD does
MAX_OFF_TOPIC_FALSE = 0.01  # the off-topic layer may refuse at most 1% of answerable in-domain questions

SENTENCE_FEATURES = (
    "cos_s",
    "cos_w",
    "cos_gap",
    "cov_s",
    "cov_w",
    "miss_rare_w",
    "bigram_w",
    "ent_miss_w",
    "num_miss_w",
    "type_miss_s",
    "neg_miss_w",
    "has_ent",
    "has_num",
)
QUESTION_FEATURES = (
    "best_logit",
    "gap2",
    "b_cos_s",
    "b_cov_w",
    "b_miss_rare_w",
    "b_bigram_w",
    "b_ent_miss_w",
    "b_num_miss_w",
    "b_type_miss_s",
    "b_neg_miss_w",
    "cos_max",
    "cov_all",
    "ent_miss_all",
    "num_miss_all",
)


# --- fitting and metrics (shared with calibrate_support) ---------------------------------------------------


def fit_logistic(x: np.ndarray, y: np.ndarray, names: Sequence[str], l2: float = 1.0, iters: int = 50) -> LinearModel:
    """L2-regularized logistic regression on standardized features (bias unpenalized), fitted by scikit-learn.

    The objective is Σ log-loss + l2/2·‖w‖² on z-scored features, i.e. scikit-learn's C = 1/l2; newton-cholesky
    is Newton's method and leaves the intercept unpenalized. The result is flattened into a `LinearModel`
    (standardized-scale weights plus the mean/scale) so the runtime scores it without importing scikit-learn.
    """
    scaler = StandardScaler().fit(x)
    classifier = LogisticRegression(C=1.0 / l2, solver="newton-cholesky", tol=1e-10, max_iter=iters)
    classifier.fit(scaler.transform(x), y)
    return LinearModel(
        tuple(names),
        tuple(float(v) for v in classifier.coef_[0]),
        float(classifier.intercept_[0]),
        tuple(float(v) for v in scaler.mean_),
        tuple(float(v) for v in scaler.scale_),
    )


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """ROC-AUC (ties count half); NaN rather than an error when a split holds only one class."""
    y = np.asarray(labels, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, np.asarray(scores, dtype=float)))


def prf(predicted: Sequence[bool], actual: Sequence[bool]) -> dict[str, float]:
    """Precision/recall/F1 of the positive class, plus accuracy; an empty class scores 0, not a warning."""
    p = np.asarray(predicted, dtype=bool)
    a = np.asarray(actual, dtype=bool)
    precision, recall, f1, _ = precision_recall_fscore_support(
        a, p, average="binary", pos_label=True, zero_division=0.0
    )
    return {
        "precision": round(float(precision), 4),
        "recall": round(float(recall), 4),
        "f1": round(float(f1), 4),
        "accuracy": round(float(accuracy_score(a, p)), 4),
        "n": int(len(a)),
        "flagged": int(p.sum()),
    }


def answer_rates(refused: np.ndarray, unanswerable: np.ndarray) -> tuple[float, float]:
    """Recall and precision of the *answered* class: the share of answerable questions let through, and the share
    of answered questions that were answerable (0 when everything is refused)."""
    recall = recall_score(unanswerable, refused, pos_label=False, zero_division=0.0)
    precision = precision_score(unanswerable, refused, pos_label=False, zero_division=0.0)
    return float(recall), float(precision)


def load_embedder_offline() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from tutor.settings import default_embed_model
    from tutor.store.embedder import load_embedder

    return load_embedder(default_embed_model())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --- the gate calibration ---------------------------------------------------------------------------------


def passage_of(paragraph: dict[str, Any], score: float) -> Passage:
    text = paragraph["text"]
    return Passage(paragraph["pid"], paragraph["title"], paragraph["title"], "squad2", "", text, 0, len(text), score)


def relogit(analysis: EvidenceAnalysis, model: LinearModel) -> EvidenceAnalysis:
    return replace(analysis, logits=[model.logit(f) for f in analysis.features])


def analyse_all(scorer: EvidenceScorer, pairs: list[tuple[str, dict[str, Any]]]) -> list[EvidenceAnalysis]:
    """One analysis per (question, paragraph); the paragraph's passage score is its cosine to the question."""
    cache = scorer.cache
    out = []
    for question, paragraph in pairs:
        vectors = cache.get([question, paragraph["text"]])
        out.append(scorer._analyse(question, [passage_of(paragraph, float(vectors[0] @ vectors[1]))]))
    return out


def sentence_dataset(
    analyses: list[EvidenceAnalysis], questions: list[dict[str, Any]]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows = sentences; label = the sentence holds a gold answer of an answerable question."""
    rows, labels = [], []
    for analysis, q in zip(analyses, questions, strict=True):
        answers = [a.lower() for a in q["answers"]] if q["answerable"] else []
        for sentence, feats in zip(analysis.sentences, analysis.features, strict=True):
            rows.append([feats[n] for n in SENTENCE_FEATURES])
            labels.append(any(a in sentence.text.lower() for a in answers))
    return np.asarray(rows, dtype=float), np.asarray(labels, dtype=float)


def question_matrix(analyses: list[EvidenceAnalysis]) -> np.ndarray:
    return np.asarray([[question_features(a)[n] for n in QUESTION_FEATURES] for a in analyses], dtype=float)


def off_topic_refused(analyses: list[EvidenceAnalysis], t_cos: float, t_terms: float) -> np.ndarray:
    return np.asarray([a.overall["cos_max"] < t_cos and a.overall["frac_terms"] < t_terms for a in analyses])


def choose_off_topic(
    in_domain: list[EvidenceAnalysis], answerable: np.ndarray, off: list[EvidenceAnalysis]
) -> tuple[float, float, float, float]:
    """Thresholds catching the most off-topic pairs while refusing ≤1% of answerable in-domain questions."""
    best = (-1.0, 0.0, 0.0, 0.0)
    for t_cos in np.arange(0.0, 0.62, 0.02):
        for t_terms in np.arange(0.0, 1.01, 0.05):
            false = off_topic_refused([a for a, y in zip(in_domain, answerable, strict=True) if y], t_cos, t_terms)
            if false.mean() > MAX_OFF_TOPIC_FALSE:
                continue
            caught = off_topic_refused(off, t_cos, t_terms).mean()
            if caught > best[0] + 1e-9 or (abs(caught - best[0]) < 1e-9 and false.mean() < best[3]):
                best = (float(caught), float(t_cos), float(t_terms), float(false.mean()))
    return best[1], best[2], best[0], best[3]


def choose_evidence_threshold(
    probs: np.ndarray, pre_refused: np.ndarray, unanswerable: np.ndarray
) -> tuple[float, list[dict[str, float]]]:
    """Max refusal F1 on the tune split, subject to keeping ≥ MIN_ANSWER_RECALL of answerable questions."""
    curve = []
    best_t, best_f1 = 0.5, -1.0
    for t in np.arange(0.05, 0.951, 0.01):
        refused = pre_refused | (probs < t)
        stats = prf(refused, unanswerable)
        answer_recall, _ = answer_rates(refused, unanswerable)
        curve.append({"threshold": round(float(t), 2), **stats, "answer_recall": round(answer_recall, 4)})
        if answer_recall >= MIN_ANSWER_RECALL and stats["f1"] > best_f1:
            best_t, best_f1 = float(t), stats["f1"]
    return round(best_t, 2), curve


def layer_report(split: str, refused_by: dict[str, np.ndarray], unanswerable: np.ndarray) -> dict[str, Any]:
    out = {}
    for layer, refused in refused_by.items():
        stats = prf(refused, unanswerable)
        answer_recall, answer_precision = answer_rates(refused, unanswerable)
        stats["answer_recall"], stats["answer_precision"] = round(answer_recall, 4), round(answer_precision, 4)
        out[layer] = stats
    log.debug("%s layers: %s", split, out)
    return out


def top1_answer_rate(
    analyses: list[EvidenceAnalysis], questions: list[dict[str, Any]], key: Callable[[EvidenceAnalysis, int], float]
) -> float:
    """Share of answerable questions whose top-ranked sentence holds a gold answer (the extractive quote)."""
    hits, total = 0, 0
    for analysis, q in zip(analyses, questions, strict=True):
        answers = [a.lower() for a in q["answers"]]
        if not q["answerable"] or not analysis.sentences:
            continue
        if not any(a in s.text.lower() for s in analysis.sentences for a in answers):
            continue
        total += 1
        best = max(range(len(analysis.sentences)), key=lambda i: key(analysis, i))
        hits += any(a in analysis.sentences[best].text.lower() for a in answers)
    return round(hits / total, 4) if total else float("nan")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.time()
    paragraphs = read_jsonl(SQUAD / "paragraphs.jsonl")
    questions = read_jsonl(SQUAD / "questions.jsonl")
    by_pid = {p["pid"]: p for p in paragraphs}
    articles = list(dict.fromkeys(p["title"] for p in paragraphs))
    tune_titles = set(articles[:TUNE_ARTICLES])
    split_of = {
        "tune": [q for q in questions if q["title"] in tune_titles],
        "test": [q for q in questions if q["title"] not in tune_titles],
    }
    rng = random.Random(13)
    off_pairs = {}
    for split, qs in split_of.items():
        off_pairs[split] = []
        for q in qs:
            other = rng.choice([p for p in paragraphs if p["title"] != q["title"]])
            off_pairs[split].append((q["question"], other))

    embedder = load_embedder_offline()
    scorer = EvidenceScorer(embedder, {})
    cache = vector_cache(embedder)
    cache.capacity = 200_000
    texts = [q["question"] for q in questions] + [p["text"] for p in paragraphs]
    texts += [s.text for p in paragraphs for s in split_sentences(passage_of(p, 0.0))]
    log.info("embedding %d texts ...", len(texts))
    cache.get(texts)
    log.info("embedded in %.0fs", time.time() - started)

    analyses = {
        s: analyse_all(scorer, [(q["question"], by_pid[q["gold_pid"]]) for q in qs]) for s, qs in split_of.items()
    }
    off_analyses = {s: analyse_all(scorer, pairs) for s, pairs in off_pairs.items()}
    unanswerable = {s: np.asarray([not q["answerable"] for q in qs]) for s, qs in split_of.items()}

    # 1. sentence model: which sentence holds the answer
    xs, ys = sentence_dataset(analyses["tune"], split_of["tune"])
    sentence_model = fit_logistic(xs, ys, SENTENCE_FEATURES)
    for s in analyses:
        analyses[s] = [relogit(a, sentence_model) for a in analyses[s]]
        off_analyses[s] = [relogit(a, sentence_model) for a in off_analyses[s]]

    # 2. question model: is the question answerable at all
    xq = question_matrix(analyses["tune"])
    question_model = fit_logistic(xq, (~unanswerable["tune"]).astype(float), QUESTION_FEATURES)

    # 3. off-topic thresholds, then the evidence threshold behind them
    t_cos, t_terms, caught, false = choose_off_topic(analyses["tune"], ~unanswerable["tune"], off_analyses["tune"])
    tune_off = off_topic_refused(analyses["tune"], t_cos, t_terms)
    tune_probs = np.asarray([question_model.prob(question_features(a)) for a in analyses["tune"]])
    t_evidence, curve = choose_evidence_threshold(tune_probs, tune_off, unanswerable["tune"])
    thresholds = GateThresholds(off_topic_cos=round(t_cos, 3), off_topic_terms=round(t_terms, 3), evidence=t_evidence)
    params = {
        "sentence_model": sentence_model.to_dict(),
        "question_model": question_model.to_dict(),
        "thresholds": thresholds.__dict__,
        "meta": {"fitted_on": "SQuAD2 dev, first 8 articles", "script": "evals/calibrate_gate.py"},
    }
    GATE_PARAMS_PATH.write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s", GATE_PARAMS_PATH)

    # 4. report, with a gate built exactly as the pipeline builds it (it reads the params just written)
    gate = AnswerabilityGate(embedder)
    report: dict[str, Any] = {
        "thresholds": thresholds.__dict__,
        "tune_off_topic": {"caught": round(caught, 4), "answerable_refused": round(false, 4)},
    }
    for split, qs in split_of.items():
        a_list = analyses[split]
        y = unanswerable[split]
        injection = np.asarray([injection_match(q["question"]) is not None for q in qs])
        off = off_topic_refused(a_list, thresholds.off_topic_cos, thresholds.off_topic_terms)
        probs = np.asarray([question_model.prob(question_features(a)) for a in a_list])
        evidence = probs < thresholds.evidence
        combined = np.asarray(
            [inj or not gate.judge_analysis(a).answerable for inj, a in zip(injection, a_list, strict=True)]
        )
        off_gate = np.asarray([not gate.judge_analysis(a).answerable for a in off_analyses[split]])
        off_layer = off_topic_refused(off_analyses[split], thresholds.off_topic_cos, thresholds.off_topic_terms)
        report[split] = {
            "questions": len(qs),
            "unanswerable": int(y.sum()),
            "layers": layer_report(
                split, {"injection": injection, "off_topic": off, "evidence": evidence, "combined": combined}, y
            ),
            "auc_refuse": {
                "evidence_score": round(roc_auc(-probs, y), 4),
                "best_sentence_logit": round(roc_auc([-question_features(a)["best_logit"] for a in a_list], y), 4),
                "max_cosine_baseline": round(roc_auc([-a.overall["cos_max"] for a in a_list], y), 4),
            },
            "top1_sentence_holds_answer": {
                "evidence_scorer": top1_answer_rate(a_list, qs, lambda a, i: a.logits[i]),
                "cosine_only": top1_answer_rate(a_list, qs, lambda a, i: a.features[i]["cos_s"]),
            },
            "off_topic_pairs": {
                "n": len(off_gate),
                "refused_by_gate": round(float(off_gate.mean()), 4),
                "refused_by_off_topic_layer": round(float(off_layer.mean()), 4),
            },
        }
    report["tune_curve"] = curve
    report["injection_false_positives_all_squad"] = int(
        sum(injection_match(q["question"]) is not None for q in questions)
    )
    report["elapsed_s"] = round(time.time() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print_table(report)


def print_table(report: dict[str, Any]) -> None:
    t = report["thresholds"]
    print(f"thresholds: off_topic cos<{t['off_topic_cos']} & terms<{t['off_topic_terms']}, evidence p<{t['evidence']}")
    print(f"{'split':6} {'layer':10} {'P':>6} {'R':>6} {'F1':>6} {'ansRec':>7} {'ansPrec':>7}")
    for split in ("tune", "test"):
        for layer, s in report[split]["layers"].items():
            print(
                f"{split:6} {layer:10} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} "
                f"{s['answer_recall']:7.3f} {s['answer_precision']:7.3f}"
            )
    for split in ("tune", "test"):
        r = report[split]
        print(
            f"{split}: AUC(refuse) {r['auc_refuse']}  top1 {r['top1_sentence_holds_answer']}  "
            f"off-topic pairs {r['off_topic_pairs']}"
        )
    print(f"injection flags on all SQuAD questions: {report['injection_false_positives_all_squad']}")


if __name__ == "__main__":
    main()
