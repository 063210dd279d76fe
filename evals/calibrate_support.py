"""Fit and measure the support scorer: is an answer sentence backed by the passage it cites?

HaluEval-QA (claim = question + " " + answer, evidence = knowledge): TUNE on the first half of the pairs,
REPORT on the second. SciFact dev (claim vs cited abstract): SUPPORT = supported, NOT_ENOUGH_INFO = not,
reported only; CONTRADICT reported separately (how often a contradicted claim still passes).
Writes `tutor/ground/support_params.json` and `evals/results/support_calibration.json`.

    .venv/bin/python -m evals.calibrate_support
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score

from evals.calibrate_gate import REPO, SHARED, fit_logistic, load_embedder_offline, prf, read_jsonl, roc_auc
from tutor.answer import Passage
from tutor.ground.evidence import split_sentences
from tutor.ground.support import SUPPORT_FEATURES, SUPPORT_PARAMS_PATH, SupportScorer
from tutor.store.vectors import vector_cache

log = logging.getLogger("calibrate_support")

RESULTS = REPO / "evals" / "results" / "support_calibration.json"


def feature_matrix(scorer: SupportScorer, pairs: list[tuple[str, str]]) -> np.ndarray:
    """Embed every claim and evidence sentence in one big batch first (small batches are slow), then featurize."""
    texts = [c for c, _ in pairs] + [s.text for _, e in pairs for s in split_sentences(_passage(e))]
    scorer.cache.get(list(dict.fromkeys(texts)))
    return np.asarray([[scorer.features(c, e)[n] for n in SUPPORT_FEATURES] for c, e in pairs], dtype=float)


def best_threshold(probs: np.ndarray, labels: np.ndarray) -> float:
    """The threshold with the best accuracy on the tune half (ties: the stricter one)."""
    best_t, best_acc = 0.5, -1.0
    for t in np.arange(0.05, 0.951, 0.01):
        acc = float(accuracy_score(labels, probs >= t))
        if acc >= best_acc:
            best_t, best_acc = float(t), acc
    return round(best_t, 2)


def summary(probs: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, Any]:
    """Accuracy, F1 of "supported", and ROC-AUC."""
    stats = prf(probs >= threshold, labels)
    return {
        "accuracy": stats["accuracy"],
        "f1_supported": stats["f1"],
        "precision_supported": stats["precision"],
        "recall_supported": stats["recall"],
        "auc": round(roc_auc(probs, labels), 4),
        "n": stats["n"],
    }


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.time()
    embedder = load_embedder_offline()
    vector_cache(embedder).capacity = 100_000
    scorer = SupportScorer(embedder)

    halu = read_jsonl(SHARED / "bench" / "halueval_qa" / "pairs.jsonl")
    half = len(halu) // 2
    pairs = [(f"{r['question']} {r['answer']}", r["knowledge"]) for r in halu]
    labels = np.asarray([bool(r["supported"]) for r in halu])
    log.info("HaluEval: %d pairs", len(pairs))
    x = feature_matrix(scorer, pairs)
    model = fit_logistic(x[:half], labels[:half].astype(float), SUPPORT_FEATURES)
    probs = np.asarray([model.prob(dict(zip(SUPPORT_FEATURES, row, strict=True))) for row in x])
    threshold = best_threshold(probs[:half], labels[:half])
    SUPPORT_PARAMS_PATH.write_text(
        json.dumps(
            {
                "model": model.to_dict(),
                "threshold": threshold,
                "meta": {"fitted_on": "HaluEval-QA pairs, first half", "script": "evals/calibrate_support.py"},
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    log.info("wrote %s", SUPPORT_PARAMS_PATH)
    cos_only = x[:, SUPPORT_FEATURES.index("cos_best")]
    report: dict[str, Any] = {
        "threshold": threshold,
        "halueval_tune": summary(probs[:half], labels[:half], threshold),
        "halueval_test": summary(probs[half:], labels[half:], threshold),
        "halueval_test_cosine_only_auc": round(roc_auc(cos_only[half:], labels[half:]), 4),
    }

    scifact = SHARED / "bench" / "scifact"
    corpus = {d["_id"]: d for d in read_jsonl(scifact / "corpus.jsonl")}
    rows = [r for r in read_jsonl(scifact / "claim_doc_labels_dev.jsonl") if r["doc_id"] in corpus]
    sf_pairs = [(r["claim"], _abstract(corpus[r["doc_id"]])) for r in rows]
    log.info("SciFact: %d claim/abstract pairs", len(sf_pairs))
    sf_x = feature_matrix(scorer, sf_pairs)
    sf_probs = np.asarray([model.prob(dict(zip(SUPPORT_FEATURES, row, strict=True))) for row in sf_x])
    kinds = np.asarray([r["label"] for r in rows])
    keep = kinds != "CONTRADICT"
    report["scifact_support_vs_nei"] = summary(sf_probs[keep], kinds[keep] == "SUPPORT", threshold)
    report["scifact_support_vs_nei_cosine_only_auc"] = round(
        roc_auc(sf_x[keep, SUPPORT_FEATURES.index("cos_best")], kinds[keep] == "SUPPORT"), 4
    )
    contra = kinds == "CONTRADICT"
    report["scifact_contradict"] = {
        "n": int(contra.sum()),
        "judged_supported_rate": round(float((sf_probs[contra] >= threshold).mean()), 4),
        "auc_support_vs_contradict": round(
            roc_auc(sf_probs[kinds != "NOT_ENOUGH_INFO"], kinds[kinds != "NOT_ENOUGH_INFO"] == "SUPPORT"), 4
        ),
    }
    report["model"] = model.to_dict()
    report["elapsed_s"] = round(time.time() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"threshold {threshold}")
    for key in ("halueval_tune", "halueval_test", "scifact_support_vs_nei"):
        s = report[key]
        print(f"{key:24} acc {s['accuracy']:.3f}  F1 {s['f1_supported']:.3f}  AUC {s['auc']:.3f}  n {s['n']}")
    print(
        f"HaluEval test cosine-only AUC {report['halueval_test_cosine_only_auc']}; SciFact cosine-only AUC "
        f"{report['scifact_support_vs_nei_cosine_only_auc']}; CONTRADICT {report['scifact_contradict']}"
    )


def _passage(text: str) -> Passage:
    return Passage("", "", "", "", "", text, 0, len(text))


def _abstract(doc: dict[str, Any]) -> str:
    text = doc.get("text", "")
    if isinstance(text, list):
        text = " ".join(text)
    return f"{doc.get('title', '')}. {text}".strip()


if __name__ == "__main__":
    main()
