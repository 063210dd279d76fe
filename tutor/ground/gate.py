"""The answerability gate: answer only when a lesson sentence actually answers the question, else refuse.

Layers, cheapest first, each with its own reason so a refusal can be explained and measured:

1. injection - the question tries to change the rules (ignore instructions, role-play, reveal the prompt);
2. off_topic - the question shares almost no words and little meaning with the retrieved passages;
3. missing_name - the question hinges on names or numbers that appear nowhere in the passages;
4. evidence  - no single sentence window carries the question's terms, entities, numbers and asked-for
   type. Embedding similarity alone cannot catch near-misses (an entity swapped, a number changed), so this
   layer is a logistic model over lexical + semantic features, fitted by `evals/calibrate_gate.py`.

With an LLM backend only layers 1-2 run here (`decide(..., llm_decides=True)`); the model itself answers
NOT_IN_LESSON when the passages do not answer, and the ask turns that into a refusal.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from tutor.answer import Passage
from tutor.ground.evidence import DEFAULT_SENTENCE_MODEL, GATE_PARAMS_PATH, EvidenceAnalysis, EvidenceScorer, Sentence
from tutor.ground.features import LinearModel, load_params
from tutor.text import unquoted

log = logging.getLogger(__name__)

_ANY = r"(?:all|any|every|the|your|my|previous|prior|above|earlier|preceding|former|original|these|those|of|\s)*"
_RULES = (
    r"(?:instructions?|rules?|prompts?|guidelines?|directions?|directives?|constraints?|restrictions?|"
    r"guardrails?|polic(?:y|ies)|context|lessons?|system message|programming|training)"
)
INJECTION_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|neglect)\b{_ANY}{_RULES}\b",
        r"\b(?:forget|ignore|disregard)\s+(?:about\s+)?(?:everything|all that|what you (?:were|have been) told)\b",
        r"\b(?:do not|don'?t|stop|no need to)\s+(?:use|using|rely on|follow|stick to|consult)\s+(?:the|this|your)\s+"
        r"(?:lessons?|context|passages?|sources?|rules?|instructions?)\b",
        r"\b(?:from|using|with|use)\s+(?:only\s+)?your\s+own\s+(?:knowledge|opinion|training|memory)\b",
        r"\bwhat you already know\b",
        r"\b(?:answer|reply|respond|tell me|explain)\b.{0,40}\b(?:without|outside(?: of)?|regardless of|not from)\s+"
        r"(?:using\s+)?(?:the|this|your)\s+(?:lessons?|passages?|context|sources?|rules?)\b",
        r"\byou\s+are\s+(?:now|no longer)\b|\byou'?re\s+(?:now|no longer)\b",
        r"\bfrom now on\b.*\byou\b",
        r"\b(?:pretend|imagine)\s+(?:to be|you(?:'re| are)?|that you)\b",
        r"\b(?:act|behave|respond|answer)\s+as\s+(?:if\s+you|an?\s+(?:unrestricted|unfiltered|different|evil)|dan)\b",
        r"\brole-?\s?play\b|\bstay in character\b|\bin character as\b",
        r"\bjail\s?break\w*\b|\bdeveloper mode\b|\bdo anything now\b|\bgod mode\b",
        r"(?-i:\bDAN\b)",
        r"\b(?:print|reveal|show|repeat|output|display|leak|dump|recite|write out|tell me|give me|share|"
        r"what (?:is|are))"
        r"\s+(?:me\s+)?your\s+(?:\w+\s+){0,2}(?:prompts?|instructions|rules|guidelines|system message)\b",
        r"\b(?:print|reveal|repeat|output|leak|dump|recite|write out)\s+(?:me\s+)?the\s+(?:system|hidden|secret|"
        r"initial|original)\s+(?:prompt|instructions|message)\b",
        r"\b(?:repeat|print|reveal|list)\s+(?:back\s+)?(?:every|all|each)\s+(?:\w+\s+)?instructions?\b",
        r"\binstructions?\s+you\s+(?:were|have been)\s+given\b",
        r"\byour\s+(?:system\s+prompt|hidden\s+instructions)\b",
        r"\b(?:restrictions?|rules?|limits?|guardrails?|filters?)\s+(?:are|have been|is)\s+(?:now\s+)?"
        r"(?:lifted|removed|disabled|off|suspended)\b",
        r"\b(?:no longer|don'?t|do not)\s+need\s+(?:lesson\s+)?(?:support|citations?|sources?)\b",
        r"\bnew\s+(?:rule|instruction|system prompt)s?\b.{0,40}\b(?:from|by)\s+(?:the\s+)?(?:developer|admin|system)\b",
        r"\b(?:system|admin|developer)\s+(?:update|override|message|mode)\s*:",
        r"</?\s*(?:lesson|system|context|instructions?|passages?)\s*>|<\|im_start\|>|\[/?INST\]|^\s*#+\s*system\b",
    )
)


def injection_match(question: str) -> str | None:
    """The fragment of `question` that tries to change the tutor's rules, if any."""
    for pattern in INJECTION_PATTERNS:
        match = pattern.search(question)
        if match:
            return match.group(0).strip()[:60]
    return None


@dataclass(frozen=True)
class GateThresholds:
    """Off-topic: refuse when BOTH the best cosine and the share of question words found are below these.
    Evidence: refuse when the fitted probability that a sentence answers is below `evidence`."""

    off_topic_cos: float = 0.25
    off_topic_terms: float = 0.34
    evidence: float = 0.5


@dataclass(frozen=True)
class GateDecision:
    answerable: bool
    score: float  # calibrated-ish confidence that the evidence answers the question
    layer: str  # which layer decided: "injection", "off_topic", "evidence", ...
    reason: str  # short human-readable why


QUESTION_FEATURES_FROM_BEST = (
    "cos_s",
    "cov_w",
    "miss_rare_w",
    "bigram_w",
    "ent_miss_w",
    "num_miss_w",
    "type_miss_s",
    "neg_miss_w",
)
DEFAULT_QUESTION_MODEL: dict[str, Any] = {
    "features": ["best_logit"],
    "weights": [1.0],
    "bias": 0.0,
}


def question_features(analysis: EvidenceAnalysis) -> dict[str, float]:
    """Question-level features: the best sentence's logit and features, the runner-up gap, and overall coverage."""
    ranked = analysis.ranked()
    best = ranked[0]
    out = {
        "best_logit": analysis.logits[best],
        "gap2": analysis.logits[best] - (analysis.logits[ranked[1]] if len(ranked) > 1 else analysis.logits[best]),
    }
    out.update({f"b_{name}": analysis.features[best][name] for name in QUESTION_FEATURES_FROM_BEST})
    out.update(analysis.overall)
    return out


class AnswerabilityGate:
    """Decides whether the retrieved evidence answers the question; refusing beats inventing an answer."""

    def __init__(self, embedder: Any, thresholds: GateThresholds | None = None) -> None:
        params = load_params(
            GATE_PARAMS_PATH, {"sentence_model": DEFAULT_SENTENCE_MODEL, "question_model": DEFAULT_QUESTION_MODEL}
        )
        self.scorer = EvidenceScorer(embedder, params)
        self.model = LinearModel.from_dict(params.get("question_model", DEFAULT_QUESTION_MODEL))
        self.thresholds = thresholds or GateThresholds(**params.get("thresholds", {}))

    def judge(self, question: str, sentences: list[Sentence], passages: list[Passage]) -> GateDecision:
        """Analyse all sentences of `passages` (or of the passages behind `sentences` when none are given),
        then `decide`. The ask flow analyses once and calls `decide` itself."""
        if not passages:
            passages = list({id(s.passage): s.passage for s in sentences}.values())
        return self.decide(question, self.scorer.analyse(question, passages))

    def decide(self, question: str, analysis: EvidenceAnalysis, llm_decides: bool = False) -> GateDecision:
        """Run the layers in order on a finished analysis; the first that refuses decides.

        With `llm_decides` (an LLM backend, told to reply NOT_IN_LESSON when the passages do not answer) only
        the cheap layers run - injection, no evidence, off topic - and a question that passes them is the
        model's to judge (layer "llm"): the lexical evidence model is built for quoting, and vetoing a model
        that can paraphrase and combine passages would refuse fair questions."""
        fragment = injection_match(question)
        if fragment:
            return GateDecision(False, 0.0, "injection", f"the question tries to change the rules: {fragment!r}")
        if not analysis.sentences:
            return GateDecision(False, 0.0, "no_evidence", "no lesson passage was retrieved for this question")
        if llm_decides:
            off_topic = self.off_topic(analysis)
            if off_topic is not None:
                return off_topic
            prob = self.model.prob(question_features(analysis))  # reported only: the model decides
            return GateDecision(True, prob, "llm", "on topic; the model decides whether the lesson answers it")
        return self.judge_analysis(analysis)

    def off_topic(self, analysis: EvidenceAnalysis) -> GateDecision | None:
        """The refusal when the question shares almost no words and little meaning with the passages, else None."""
        t = self.thresholds
        overall = analysis.overall
        if overall["cos_max"] < t.off_topic_cos and overall["frac_terms"] < t.off_topic_terms:
            return GateDecision(
                False,
                0.0,
                "off_topic",
                f"the lesson does not cover this topic (similarity {overall['cos_max']:.2f}, "
                f"{overall['frac_terms']:.0%} of the question's words found)",
            )
        return None

    def judge_analysis(self, analysis: EvidenceAnalysis) -> GateDecision:
        """The off-topic and evidence layers on a finished analysis (the calibration script calls this too)."""
        t = self.thresholds
        off_topic = self.off_topic(analysis)
        if off_topic is not None:
            return off_topic
        missing = _missing_names(analysis)
        if missing:
            return GateDecision(False, 0.0, "missing_name", missing)
        features = question_features(analysis)
        prob = self.model.prob(features)
        if prob < t.evidence:
            reason = self._weakest(features)
            return GateDecision(False, prob, "evidence", f"no lesson sentence answers this ({reason})")
        return GateDecision(True, prob, "evidence", "a lesson sentence answers this question")

    @staticmethod
    def _weakest(features: dict[str, float]) -> str:
        """A short, human-readable pointer at what the best sentence lacks."""
        if features.get("b_num_miss_w"):
            return "a number in the question is not in the lesson"
        if features.get("b_ent_miss_w", 0.0) > 0:
            return "a name in the question is not in the matching lesson text"
        if features.get("b_type_miss_s"):
            return "the matching sentence does not contain the kind of answer asked for"
        if features.get("b_neg_miss_w"):
            return "the question is negated but the lesson text is not"
        return f"best sentence covers {features.get('b_cov_w', 0.0):.0%} of the question"


def _missing_names(analysis: EvidenceAnalysis) -> str:
    """A question that hinges on names or numbers the passages never mention cannot be answered from them
    ("Who designed the Statue of Liberty?" against a lesson on the Eiffel Tower), however similar it reads."""
    query, overall = analysis.query, analysis.overall
    if query.entities and overall["ent_miss_all"] >= 1.0:
        return "the names in the question do not appear in the lesson"
    absent = _absent_codes(query.text, analysis)
    if absent:
        return f"the lesson does not mention {absent}"
    if query.numbers and overall["num_none_all"] >= 1.0:  # none of them, not merely one
        return "the numbers in the question do not appear in the lesson"
    return ""


# Acronyms and model-like codes ("RLHF", "SARSA", "GPT-4o", "70B"): a question naming one the retrieved
# lesson text never mentions asks about something else, however close its other words are.
_CODE = re.compile(r"\b(?=[\w-]*[A-Z]{2})(?![A-Z][a-z])[A-Za-z0-9][\w-]*[A-Za-z0-9]\b|\b\d+[A-Za-z]+\b")


def _absent_codes(question: str, analysis: EvidenceAnalysis) -> str:
    """The codes the question names, when the passages mention none of them (one found means the question
    may still be about the lesson: "Is it 'SARSA' or 'Q-learning'?")."""
    codes = {c for c in _CODE.findall(unquoted(question)) if not re.fullmatch(r"\d+s?", c)}  # options may be decoys
    if not codes:
        return ""
    seen = " ".join({s.passage.chunk_id: s.passage.text for s in analysis.sentences}.values()).lower()
    absent = sorted(c for c in codes if not re.search(rf"(?<!\w){re.escape(c.lower())}s?(?!\w)", seen))
    return ", ".join(absent) if len(absent) == len(codes) else ""
