"""The tutor in one place: condense → retrieve → gate → answer → verify → cite.

`Tutor` is built from parts passed in (`Tutor.from_settings` wires the defaults), and the same steps are
exposed as a LangChain Runnable (`tutor.runnable`) so they compose with other chains.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

from tutor.answer import Answer, Passage
from tutor.errors import BackendUnavailableError, InvalidRequestError, UnknownLessonError
from tutor.generate import AnswerBackend, load_backend
from tutor.generate.templates import load_prompt
from tutor.ground.cite import cite
from tutor.ground.evidence import EvidenceScorer
from tutor.ground.gate import AnswerabilityGate, GateDecision
from tutor.ground.support import SupportScorer
from tutor.ingest.index import IngestReport, ingest
from tutor.retrieve.hybrid import HybridRetriever, Scope
from tutor.settings import Settings
from tutor.store.chroma import LessonRecord, LessonStore, open_store

log = logging.getLogger(__name__)

History = list[dict[str, str]]
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


class Tutor:
    def __init__(
        self,
        store: LessonStore,
        retriever: HybridRetriever,
        scorer: EvidenceScorer,
        gate: AnswerabilityGate,
        backend: AnswerBackend,
        support: SupportScorer,
        settings: Settings = Settings(),
    ) -> None:
        self.store = store
        self.retriever = retriever
        self.scorer = scorer
        self.gate = gate
        self.backend = backend
        self.support = support
        self.settings = settings
        self.runnable: Runnable = (
            RunnableLambda(self._condense, name="condense")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableLambda(self._gate, name="gate")
            | RunnableLambda(self._answer, name="answer")
            | RunnableLambda(self._verify_and_cite, name="verify_cite")
        )

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
            self.store, roots or list(self.settings.corpus), self.settings.chunk_tokens, rebuild,
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
        state = self.runnable.invoke(self._start(question, lesson_id, history, course))
        return state["answer"]

    def stream(
        self, question: str, lesson_id: str | None = None, history: History | None = None, course: str | None = None
    ) -> Iterator[str | Answer]:
        """Text pieces as they are ready, then the final `Answer`.

        LLM drafts are streamed sentence by sentence once each sentence is verified, so a learner never
        sees a sentence that is later dropped.
        """
        state = self._gate(self._retrieve(self._condense(self._start(question, lesson_id, history, course))))
        streamed = ""
        if state["decision"].answerable and self.backend.uses_llm:
            for piece in self._stream_verified(state):
                streamed += piece
                yield piece
        state = self._verify_and_cite(self._answer(state))
        answer: Answer = state["answer"]
        if not streamed.strip() or answer.refused or answer.fallback:
            # Nothing verified was streamed (extractive, a refusal, or an LLM fallback): send the final text.
            if streamed.strip():
                yield "\n\n"
            for word in answer.answer.split(" "):
                yield word + " "
        yield answer

    # --- steps (each takes and returns the state dict) -----------------------------------------
    def _start(self, question: str, lesson_id: str | None, history: History | None, course: str | None) -> dict:
        question = (question or "").strip()
        if not question:
            raise InvalidRequestError("question is empty")
        lesson = None
        if lesson_id:
            lesson = self.store.lesson(lesson_id)
            if lesson is None:
                raise UnknownLessonError(f"unknown lesson {lesson_id!r}: see `tutor lessons`")
        return {"question": question, "scope": Scope(lesson_id or None, None if lesson_id else course),
                "lesson": lesson, "history": list(history or []), "t0": time.perf_counter(), "timings": {}}

    def _condense(self, state: dict) -> dict:
        history = state["history"]
        state["standalone"] = self.backend.condense(state["question"], history) if history else state["question"]
        return state

    def _retrieve(self, state: dict) -> dict:
        t = time.perf_counter()
        state["passages"] = self.retriever.retrieve(state["standalone"], state["scope"])
        state["sentences"] = self.scorer.score(state["standalone"], state["passages"])
        state["timings"]["retrieve"] = _ms(t)
        return state

    def _gate(self, state: dict) -> dict:
        state["decision"] = self.gate.judge(state["standalone"], state["sentences"], state["passages"])
        return state

    def _answer(self, state: dict) -> dict:
        t = time.perf_counter()
        state["draft"] = ""
        if state["decision"].answerable and "fallback_reason" not in state:
            if "streamed_draft" in state:
                state["draft"] = state["streamed_draft"]
            else:
                try:
                    state["draft"] = "".join(
                        self.backend.generate(state["standalone"], state["passages"], state["sentences"])
                    )
                except BackendUnavailableError as exc:
                    self._note_fallback(state, exc)
        state["timings"]["answer"] = _ms(t)
        return state

    def _verify_and_cite(self, state: dict) -> dict:
        t = time.perf_counter()
        passages: list[Passage] = state["passages"]
        decision: GateDecision = state["decision"]
        lead = "" if self.backend.uses_llm else load_prompt("refusal")["answer_lead"]
        cited = cite(state["draft"], passages, self.support, verify=self.backend.uses_llm, lead=lead)
        fallback = False
        if decision.answerable and not cited.citations and self.backend.uses_llm:
            # The LLM failed, or nothing it said survived verification: fall back to quoting the lesson.
            from tutor.generate.extractive import ExtractiveBackend

            fallback = "".join(ExtractiveBackend().generate(state["standalone"], passages, state["sentences"]))
            lead = load_prompt("refusal")["answer_lead"]
            dropped = cited.dropped
            cited = cite(fallback, passages, self.support, verify=False, lead=lead)
            cited.dropped = dropped
            fallback = True
        state["timings"]["verify"] = _ms(t)
        refused = not (decision.answerable and cited.citations)
        text = self._refusal(state, decision) if refused else cited.text
        state["timings"]["total"] = _ms(state["t0"])
        state["answer"] = Answer(
            answer=text,
            refused=refused,
            citations=[] if refused else cited.citations,
            backend=self.backend.name,
            fallback=fallback and not refused,
            fallback_reason=state.get("fallback_reason", "nothing the model said was supported") if fallback else "",
            timings_ms=state["timings"],
            question=state["question"],
            standalone_question=state["standalone"],
            lesson_id=state["scope"].lesson_id,
            passages=passages,
            dropped=cited.dropped,
            gate={"answerable": decision.answerable, "score": round(decision.score, 4), "layer": decision.layer,
                  "reason": decision.reason},
        )
        return state

    def _stream_verified(self, state: dict) -> Iterator[str]:
        """Generate with the LLM, yielding each finished sentence only if it is supported.

        Markers are left out of the streamed text: the final `Answer` numbers its citations in order."""
        from tutor.ground.cite import draft_sentences

        draft = ""
        emitted = 0
        try:
            for piece in self.backend.generate(state["standalone"], state["passages"], state["sentences"]):
                draft += piece
                done = draft_sentences(draft)[:-1]  # the last one may still be growing
                for sentence in done[emitted:]:
                    if cite(sentence, state["passages"], self.support, verify=True).citations:
                        yield _MARKERS.sub("", sentence) + " "
                emitted = max(emitted, len(done))
        except BackendUnavailableError as exc:
            self._note_fallback(state, exc)
            return
        state["streamed_draft"] = draft
        for sentence in draft_sentences(draft)[emitted:]:
            if cite(sentence, state["passages"], self.support, verify=True).citations:
                yield _MARKERS.sub("", sentence) + " "

    def _note_fallback(self, state: dict, exc: BackendUnavailableError) -> None:
        """The backend failed mid-ask: this answer quotes the lesson instead, and the reason is logged."""
        log.warning("answer backend %s failed, answering extractively: %s", self.backend.name, exc)
        state["fallback_reason"] = str(exc)
        state["draft"] = ""

    def _refusal(self, state: dict, decision: GateDecision) -> str:
        templates = load_prompt("refusal")
        lesson: LessonRecord | None = state["lesson"]
        if lesson is not None:
            topics = _topics(lesson)
            if decision.layer == "injection":
                return templates["injection"].format(title=lesson.title)
            if topics:
                return templates["lesson"].format(title=lesson.title, topics=topics)
            return templates["lesson_no_topics"].format(title=lesson.title)
        scope: Scope = state["scope"]
        where = f"the “{scope.course}” lessons" if scope.course else "these lessons"
        titles = [f"“{t}”" for t in sorted({p.title for p in state["passages"]})[:3]] or ["the lesson topics"]
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


def answer_json(answer: Answer) -> dict[str, Any]:
    """The public JSON of an answer (CLI `--json`, HTTP API)."""
    data = answer.to_dict(include_passages=False)
    return {k: data[k] for k in ("answer", "refused", "citations", "backend", "fallback", "timings_ms", "dropped",
                                 "gate", "lesson_id", "question")}
