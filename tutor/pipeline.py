"""The tutor in one place: condense → retrieve → gate → answer → verify → cite.

`Tutor` is built from parts passed in (`Tutor.from_settings` wires the defaults), and the same steps are
exposed as a LangChain Runnable (`tutor.runnable`) so they compose with other chains.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from tutor.answer import Answer, Passage
from tutor.errors import BackendUnavailableError, InvalidRequestError, UnknownLessonError
from tutor.generate import AnswerBackend, load_backend
from tutor.generate.draft import Draft, draft_sentences, parse_draft
from tutor.generate.templates import load_prompt
from tutor.ground.cite import cite
from tutor.ground.evidence import EvidenceAnalysis, EvidenceScorer, Sentence
from tutor.ground.gate import AnswerabilityGate, GateDecision
from tutor.ground.support import SupportScorer
from tutor.ingest.index import IngestReport, ingest
from tutor.retrieve.hybrid import HybridRetriever, Scope
from tutor.settings import Settings
from tutor.store.chroma import LessonRecord, LessonStore, open_store
from tutor.text import strip_markers

log = logging.getLogger(__name__)

History = list[dict[str, str]]


@dataclass
class AskState:
    """One ask as it moves through the steps: each step fills its fields, none re-derives another's."""

    question: str
    scope: Scope
    lesson: LessonRecord | None
    history: History
    standalone: str = ""
    passages: list[Passage] = field(default_factory=list)
    analysis: EvidenceAnalysis | None = None
    sentences: list[Sentence] = field(default_factory=list)
    decision: GateDecision | None = None
    streamed_draft: str | None = None
    draft: Draft = field(default_factory=Draft)
    fallback_reason: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    t0: float = field(default_factory=time.perf_counter)
    answer: Answer | None = None


def _log_ask(state: AskState) -> None:
    """One INFO line per ask: scope, the gate's verdict, the backend and the time of every stage."""
    decision, answer = state.decision, state.answer
    scope = state.scope.lesson_id or (f"course {state.scope.course}" if state.scope.course else "all lessons")
    timings = " ".join(f"{k}={v:.0f}ms" for k, v in state.timings.items())
    log.info(
        "ask scope=%s gate=%s/%.3f %s backend=%s%s %s",
        scope,
        decision.layer,
        decision.score,
        "refused" if answer.refused else f"cited={len(answer.citations)}",
        answer.backend,
        " fallback" if answer.fallback else "",
        timings,
    )


class Tutor:
    def __init__(
        self,
        store: LessonStore,
        retriever: HybridRetriever,
        scorer: EvidenceScorer,
        gate: AnswerabilityGate,
        backend: AnswerBackend,
        support: SupportScorer,
        settings: Settings | None = None,
    ) -> None:
        self.store = store
        self.retriever = retriever
        self.scorer = scorer
        self.gate = gate
        self.backend = backend
        self.support = support
        self.settings = settings or Settings.from_env()
        # One set of step functions behind every path: `understand` decides whether and from what to answer,
        # `respond` writes and verifies the answer; `runnable` is both (ask), the stream runs them apart.
        self.understand: Runnable = (
            RunnableLambda(self._condense, name="condense")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableLambda(self._analyse, name="evidence")
            | RunnableLambda(self._gate, name="gate")
        )
        self.respond: Runnable = RunnableLambda(self._answer, name="answer") | RunnableLambda(
            self._verify_and_cite, name="verify_cite"
        )
        self.runnable: Runnable = self.understand | self.respond

    @classmethod
    def from_settings(cls, settings: Settings | None = None, backend: AnswerBackend | None = None) -> Tutor:
        settings = settings or Settings.from_env()
        store = open_store(settings)
        embedder = store.embedder
        gate = AnswerabilityGate(embedder)
        return cls(
            store=store,
            retriever=HybridRetriever(store, settings.top_k, settings.reranker),
            scorer=gate.scorer,  # one scorer: the gate reuses the sentence analysis the answer step made
            gate=gate,
            backend=backend or load_backend(settings),
            support=SupportScorer(embedder),
            settings=settings,
        )

    # --- lessons -------------------------------------------------------------------------------
    def ingest(self, roots: list[Path] | None = None, rebuild: bool = False) -> IngestReport:
        report = ingest(
            self.store,
            roots or list(self.settings.corpus),
            self.settings.chunk_tokens,
            rebuild,
            self.settings.embed_batch,
        )
        self.retriever.refresh()
        return report

    def lessons(self) -> list[LessonRecord]:
        return self.store.lessons()

    def lesson(self, lesson_id: str) -> LessonRecord | None:
        return self.store.lesson(lesson_id)

    # --- asking --------------------------------------------------------------------------------
    def ask(
        self, question: str, lesson_id: str | None = None, history: History | None = None, course: str | None = None
    ) -> Answer:
        return self.run(self.prepare(question, lesson_id, history, course))

    def stream(
        self, question: str, lesson_id: str | None = None, history: History | None = None, course: str | None = None
    ) -> Iterator[str | Answer]:
        """Text pieces as they are ready, then the final `Answer`."""
        return self.stream_prepared(self.prepare(question, lesson_id, history, course))

    def prepare(
        self, question: str, lesson_id: str | None = None, history: History | None = None, course: str | None = None
    ) -> AskState:
        """Validate the request and fetch its lesson, once: callers (the API) check it before streaming."""
        question = (question or "").strip()
        if not question:
            raise InvalidRequestError("question is empty")
        lesson = None
        if lesson_id:
            lesson = self.store.lesson(lesson_id)
            if lesson is None:
                raise UnknownLessonError(f"unknown lesson {lesson_id!r}: see `tutor lessons`")
        scope = Scope(lesson_id or None, None if lesson_id else course)
        return AskState(question=question, scope=scope, lesson=lesson, history=list(history or []))

    def run(self, state: AskState, config: RunnableConfig | None = None) -> Answer:
        """A prepared ask, all at once, through the Runnable (so LangChain callbacks see every step)."""
        return self.runnable.invoke(state, config).answer

    def stream_prepared(self, state: AskState, config: RunnableConfig | None = None) -> Iterator[str | Answer]:
        """A prepared ask as text pieces, then the final `Answer`; the same steps as `run`, in two Runnables.

        LLM drafts are streamed sentence by sentence once each sentence is verified, so a learner never
        sees a sentence that is later dropped."""
        state = self.understand.invoke(state, config)
        streamed = ""
        if state.decision.answerable and self.backend.uses_llm:
            for piece in self._stream_verified(state):
                streamed += piece
                yield piece
        answer = self.respond.invoke(state, config).answer
        if not streamed.strip() or answer.refused or answer.fallback:
            # Nothing verified was streamed (extractive, a refusal, or an LLM fallback): send the final text.
            if streamed.strip():
                yield "\n\n"
            for word in answer.answer.split(" "):
                yield word + " "
        yield answer

    # --- steps (each takes and returns the AskState) -------------------------------------------
    def _condense(self, state: AskState) -> AskState:
        state.standalone = self.backend.condense(state.question, state.history) if state.history else state.question
        return state

    def _retrieve(self, state: AskState) -> AskState:
        t = time.perf_counter()
        state.passages = self.retriever.retrieve(state.standalone, state.scope)
        state.timings["retrieve"] = _ms(t)
        return state

    def _analyse(self, state: AskState) -> AskState:
        t = time.perf_counter()
        state.analysis = self.scorer.analyse(state.standalone, state.passages)
        state.sentences = self.scorer.rank(state.analysis)
        state.timings["evidence"] = _ms(t)
        return state

    def _gate(self, state: AskState) -> AskState:
        t = time.perf_counter()
        state.decision = self.gate.decide(state.standalone, state.analysis)
        state.timings["gate"] = _ms(t)
        return state

    def _answer(self, state: AskState) -> AskState:
        t = time.perf_counter()
        if state.decision.answerable and not state.fallback_reason:
            if state.streamed_draft is not None:
                state.draft = parse_draft(state.streamed_draft)
            else:
                try:
                    state.draft = self.backend.draft(state.standalone, state.passages, state.sentences)
                except BackendUnavailableError as exc:
                    self._note_fallback(state, exc)
        state.timings["answer"] = _ms(t)
        return state

    def _verify_and_cite(self, state: AskState) -> AskState:
        t = time.perf_counter()
        passages, decision = state.passages, state.decision
        cited = cite(state.draft, passages, self.support, verify=self.backend.uses_llm)
        fallback = False
        if decision.answerable and not cited.citations and self.backend.uses_llm:
            # The LLM failed, or nothing it said survived verification: fall back to quoting the lesson.
            from tutor.generate.extractive import ExtractiveBackend

            quoted = ExtractiveBackend().draft(state.standalone, passages, state.sentences)
            dropped = cited.dropped
            cited = cite(quoted, passages, self.support, verify=False)
            cited.dropped = dropped
            fallback = True
            state.fallback_reason = state.fallback_reason or "nothing the model said was supported by the lesson"
        state.timings["verify"] = _ms(t)
        refused = not (decision.answerable and cited.citations)
        text = self._refusal(state, decision) if refused else cited.text
        state.timings["total"] = _ms(state.t0)
        state.answer = Answer(
            answer=text,
            refused=refused,
            citations=[] if refused else cited.citations,
            backend=self.backend.name,
            fallback=fallback and not refused,
            fallback_reason=state.fallback_reason if fallback else "",
            timings_ms=state.timings,
            question=state.question,
            standalone_question=state.standalone,
            lesson_id=state.scope.lesson_id,
            passages=passages,
            dropped=cited.dropped,
            gate={
                "answerable": decision.answerable,
                "score": round(decision.score, 4),
                "layer": decision.layer,
                "reason": decision.reason,
            },
        )
        _log_ask(state)
        return state

    def _stream_verified(self, state: AskState) -> Iterator[str]:
        """Generate with the LLM, yielding each finished sentence only if it is supported.

        Markers are left out of the streamed text: the final `Answer` numbers its citations in order."""
        draft = ""
        emitted = 0
        try:
            for piece in self.backend.generate(state.standalone, state.passages, state.sentences):
                draft += piece
                done = draft_sentences(draft)[:-1]  # the last one may still be growing
                for sentence in done[emitted:]:
                    if cite(sentence, state.passages, self.support, verify=True).citations:
                        yield strip_markers(sentence) + " "
                emitted = max(emitted, len(done))
        except BackendUnavailableError as exc:
            self._note_fallback(state, exc)
            return
        state.streamed_draft = draft
        for sentence in draft_sentences(draft)[emitted:]:
            if cite(sentence, state.passages, self.support, verify=True).citations:
                yield strip_markers(sentence) + " "

    def _note_fallback(self, state: AskState, exc: BackendUnavailableError) -> None:
        """The backend failed mid-ask: this answer quotes the lesson instead, and the reason is logged."""
        log.warning("answer backend %s failed, answering extractively: %s", self.backend.name, exc)
        state.fallback_reason = str(exc)
        state.draft = Draft()

    def _refusal(self, state: AskState, decision: GateDecision) -> str:
        templates = load_prompt("refusal")
        lesson = state.lesson
        if lesson is not None:
            topics = _topics(lesson)
            if decision.layer == "injection":
                return templates["injection"].format(title=lesson.title)
            if topics:
                return templates["lesson"].format(title=lesson.title, topics=topics)
            return templates["lesson_no_topics"].format(title=lesson.title)
        scope = state.scope
        where = f"the “{scope.course}” lessons" if scope.course else "these lessons"
        titles = [f"“{t}”" for t in sorted({p.title for p in state.passages})[:3]] or ["the lesson topics"]
        return templates["scope"].format(where=where, topics=_join(titles))


def _topics(lesson: LessonRecord, limit: int = 4) -> str:
    """The lesson's top-level section titles (below its title), quoted, as a short readable list."""
    sections = [s for s in lesson.sections if s.level > 1 and s.title.lower() != lesson.title.lower()]
    top = min((s.level for s in sections), default=0)
    titles: list[str] = []
    for section in sections:
        title = section.title.strip().rstrip(".:?!")
        if section.level == top and title and title not in titles:
            titles.append(title)
    return _join([f"“{t}”" for t in titles[:limit]])


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
