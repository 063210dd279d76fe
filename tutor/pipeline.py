"""The tutor in one place: condense → retrieve → gate → answer → verify → cite.

`Tutor` is built from parts passed in (`Tutor.from_settings` wires the defaults), and the same steps are
exposed as a LangChain Runnable (`tutor.runnable`) so they compose with other chains.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from tutor.answer import Answer, Passage
from tutor.errors import BackendUnavailableError, InvalidRequestError, UnknownLessonError
from tutor.generate import AnswerBackend, load_backend
from tutor.generate.draft import (
    Draft,
    SaidBefore,
    draft_sentences,
    is_cut_off,
    is_fragment,
    parse_draft,
    says_not_in_lesson,
    stop_reason,
)
from tutor.generate.templates import load_prompt
from tutor.ground.cite import cite
from tutor.ground.evidence import EvidenceAnalysis, EvidenceScorer, Sentence
from tutor.ground.gate import AnswerabilityGate, GateDecision
from tutor.ground.support import SupportScorer
from tutor.ground.units import OUTLINE_SECTION, QUIZ_SECTION, answering, readable, role_of
from tutor.ingest.index import IngestReport, ingest, passage_sentences
from tutor.retrieve.hybrid import HybridRetriever, Scope
from tutor.settings import Settings
from tutor.store.chroma import LessonRecord, LessonStore, open_store
from tutor.store.vectors import vector_cache
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
    analysis: EvidenceAnalysis | None = None  # the sentences that could answer (see `tutor.ground.units`)
    mentions: EvidenceAnalysis | None = None  # every sentence, outline bullets and restatements included
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
            | RunnableLambda(self._follow_up, name="follow_up")
        )
        self.respond: Runnable = RunnableLambda(self._answer, name="answer") | RunnableLambda(
            self._verify_and_cite, name="verify_cite"
        )
        self.runnable: Runnable = self.understand | self.respond
        # Called with every answer a learner gets (ask, run, stream; not the starter checks): the server's
        # questions log listens here.
        self.listeners: list[Callable[[Answer], None]] = []

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, backend: AnswerBackend | None = None, lazy: bool = False
    ) -> Tutor:
        """The default parts; with `lazy` the embedding model loads on first use or `warm` (the server starts
        listening first and loads it in the background)."""
        settings = settings or Settings.from_env()
        store = open_store(settings, lazy=lazy)
        embedder = store.embedder
        gate = AnswerabilityGate(embedder)
        return cls(
            store=store,
            retriever=HybridRetriever(store, settings.top_k, settings.reranker, fusion=settings.fusion),
            scorer=gate.scorer,  # one scorer: the gate reuses the sentence analysis the answer step made
            gate=gate,
            backend=backend or load_backend(settings),
            support=SupportScorer(embedder),
            settings=settings,
        )

    def warm(self) -> None:
        """Load the embedding model and build the all-lessons BM25 index now, so that the first learner waits
        for neither."""
        self.store.embedder.embed_query("warm up")
        self.retriever.prewarm(Scope())

    # --- lessons -------------------------------------------------------------------------------
    def ingest(self, roots: list[Path] | None = None, rebuild: bool = False) -> IngestReport:
        report = ingest(
            self.store,
            roots or list(self.settings.corpus),
            self.settings.chunk_tokens,
            rebuild,
            self.settings.embed_batch,
            sentence_vectors=self.settings.sentence_vectors == "ingest",
        )
        if report.embedded or report.removed or rebuild:  # unchanged lessons leave the index as it was
            self.store.indexed_changed()
            self.retriever.refresh()
        return report

    def lessons(self) -> list[LessonRecord]:
        return self.store.lessons()

    def lesson_count(self) -> int:
        return self.store.count()

    def lesson(self, lesson_id: str) -> LessonRecord | None:
        return self.store.lesson(lesson_id)

    def open_lesson(self, lesson_id: str) -> int:
        """Get a lesson ready for its first question while the learner is still reading it (the widget calls
        this when it opens): the lesson's search index is built and, when sentences are embedded at ask time,
        every sentence not yet stored is embedded and kept now, one passage per model call so that asks in
        the meantime are not held up. Returns how many sentences were embedded."""
        passages = self.retriever.passages(Scope(lesson_id))
        if self.settings.sentence_vectors != "ask" or not passages:
            return 0
        stored = self.store.sentence_vectors([p.chunk_id for p in passages])
        return self._keep_sentence_vectors(passages, stored, self.store.embedder.embed_batch)

    # --- asking --------------------------------------------------------------------------------
    def ask(
        self, question: str, lesson_id: str | None = None, history: History | None = None, course: str | None = None
    ) -> Answer:
        return self.run(self.prepare(question, lesson_id, history, course))

    def answers(self, question: str, lesson_id: str) -> bool:
        """Whether the lesson answers `question`, decided without generating: retrieval and the answerability
        gate (with the extractive backend, its cheap answer selection too). Starter questions are checked so."""
        state = self.understand.invoke(self.prepare(question, lesson_id))
        if not state.decision.answerable:
            return False
        if self.backend.uses_llm:
            return bool(state.sentences)
        answer = self.respond.invoke(state).answer
        return not answer.refused and bool(answer.citations)

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
        return self._answered(self.runnable.invoke(state, config).answer)

    def question_vector(self, text: str) -> list[float]:
        """The embedding of a question, from the cache retrieval filled (no second model pass)."""
        return vector_cache(self.store.embedder).get([text])[0].tolist()

    def _answered(self, answer: Answer) -> Answer:
        for listener in self.listeners:
            try:
                listener(answer)
            except Exception:  # a listener never fails an ask
                log.exception("answer listener %r failed", listener)
        return answer

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
        yield self._answered(answer)

    # --- steps (each takes and returns the AskState) -------------------------------------------
    def _condense(self, state: AskState) -> AskState:
        """An LLM rewrites a follow-up into a standalone question up front; without one the question is first
        tried as asked (most questions in a conversation stand on their own) and `_follow_up` resolves it."""
        use_llm = self.backend.uses_llm and state.history
        state.standalone = self.backend.condense(state.question, state.history) if use_llm else state.question
        return state

    def _follow_up(self, state: AskState) -> AskState:
        """A question the lesson could not answer on its own words ("What are the three steps?", "Why is
        that?") is tried once more with the previous turn's question and answer as its context. A question
        refused as off topic that has content words of its own and points back at nothing ("What is the
        capital of Australia?", unlike "Why is that a mistake?") changes the subject, and stays refused."""
        decision = state.decision
        if not state.history or decision.answerable or decision.layer == "injection":
            return state
        if decision.layer == "off_topic" and state.mentions is not None and state.mentions.query.stems:
            if not _REFERS_BACK.search(state.question):
                return state  # words of its own, none in the lesson, nothing pointing back: a new subject
        if state.standalone != state.question:
            return state
        resolved = self.backend.condense(state.question, state.history)
        if resolved == state.question:
            return state
        retry = AskState(state.question, state.scope, state.lesson, state.history, standalone=resolved)
        retry.timings, retry.t0 = state.timings, state.t0
        for step in (self._retrieve, self._analyse, self._gate):
            retry = step(retry)
        return retry if retry.decision.answerable else state

    def _retrieve(self, state: AskState) -> AskState:
        t = time.perf_counter()
        state.passages = self.retriever.retrieve(state.standalone, state.scope)
        state.timings["retrieve"] = _ms(t)
        return state

    def _analyse(self, state: AskState) -> AskState:
        t = time.perf_counter()
        stored = self.store.sentence_vectors([p.chunk_id for p in state.passages])
        self.scorer.cache.put(stored)
        state.mentions = self.scorer.analyse(state.standalone, state.passages)
        if self.settings.sentence_vectors == "ask":  # the analysis embedded them: store what it cached
            self._keep_sentence_vectors(state.passages, stored, lambda texts: self.scorer.cache.get(texts).tolist())
        state.analysis = state.mentions.only(answering(state.standalone, state.mentions.sentences))
        state.sentences = self.scorer.rank(state.analysis)
        state.timings["evidence"] = _ms(t)
        return state

    def _keep_sentence_vectors(
        self, passages: list[Passage], stored: dict, embed: Callable[[list[str]], list[list[float]]]
    ) -> int:
        """Store the sentence vectors of the passages that have none stored yet, so the next ask on them
        reuses them; `embed` is called once per passage. Returns how many sentences were stored."""
        kept = 0
        for passage in passages:
            sentences = passage_sentences(passage)
            if sentences and not any(s in stored for s in sentences):
                self.store.keep_sentences(passage, list(zip(sentences, embed(sentences), strict=True)))
                kept += len(sentences)
        return kept

    def _gate(self, state: AskState) -> AskState:
        t = time.perf_counter()
        # An LLM judges answerability itself (NOT_IN_LESSON): the gate then runs only its cheap layers, on
        # every retrieved sentence, since the model reads whole passages, not just the quotable units.
        llm = self.backend.uses_llm
        analysis = state.mentions if llm and state.mentions is not None else state.analysis
        state.decision = self.gate.decide(state.standalone, analysis, llm_decides=llm)
        state.timings["gate"] = _ms(t)
        return state

    def _answer(self, state: AskState) -> AskState:
        t = time.perf_counter()
        if state.decision.answerable and not state.fallback_reason:
            if state.streamed_draft is not None:
                state.draft = parse_draft(state.streamed_draft, whole_sentences=True)
            else:
                try:
                    state.draft = self.backend.draft(state.standalone, state.passages, state.sentences)
                except BackendUnavailableError as exc:
                    self._note_fallback(state, exc)
            if self.backend.uses_llm and state.draft.not_in_lesson:
                # The model read the passages and said they do not answer: that is the refusal.
                state.decision = GateDecision(
                    False, state.decision.score, "llm", "the model said the lesson does not cover this (NOT_IN_LESSON)"
                )
                state.draft = Draft()
        state.timings["answer"] = _ms(t)
        return state

    def _verify_and_cite(self, state: AskState) -> AskState:
        t = time.perf_counter()
        passages, decision, draft = state.passages, state.decision, state.draft
        if self.backend.uses_llm and draft.degenerate:
            # A looping or fragmentary draft is dropped whole: verified one by one, a few of its pieces could
            # survive and read as an answer.
            cited = cite(Draft(), passages, self.support, verify=True)
            cited.dropped = [c.text for c in draft.claims]
            state.fallback_reason = state.fallback_reason or f"the model's draft was degenerate ({draft.degenerate})"
        else:
            cited = cite(draft, passages, self.support, verify=self.backend.uses_llm)
        fallback = False
        if decision.answerable and not cited.citations and self.backend.uses_llm and decision.layer == "llm":
            # Only the cheap gate layers ran, trusting the model to judge; it did not answer usably, so quoting
            # the lesson must pass the full no-LLM gate first, as it does without an LLM.
            decision = state.decision = self.gate.decide(state.standalone, state.analysis)
        if decision.answerable and not cited.citations and self.backend.uses_llm:
            # The LLM failed, was degenerate, or nothing it said survived verification: quote the lesson.
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
            course=state.scope.course,
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

        Markers are left out of the streamed text: the final `Answer` numbers its citations in order. A
        sentence said before, a fragment, a cut-off last sentence or NOT_IN_LESSON is never streamed, and
        generation stops once the model has said NOT_IN_LESSON or is looping (`stop_reason`): nothing after
        that can be used."""
        said = SaidBefore()

        def shown(sentence: str) -> bool:
            if said.repeats(sentence) or is_fragment(sentence) or says_not_in_lesson(sentence):
                return False
            return bool(cite(sentence, state.passages, self.support, verify=True).citations)

        draft = ""
        emitted = 0
        pieces = self.backend.generate(state.standalone, state.passages, state.sentences)
        try:
            for piece in pieces:
                draft += piece
                if stop_reason(draft):
                    break
                done = draft_sentences(draft)[:-1]  # the last one may still be growing
                for sentence in done[emitted:]:
                    if shown(sentence):
                        yield strip_markers(sentence) + " "
                emitted = max(emitted, len(done))
        except BackendUnavailableError as exc:
            self._note_fallback(state, exc)
            return
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # cancels the rest of the request in the server or worker
        state.streamed_draft = draft
        rest = draft_sentences(draft)[emitted:]
        if rest and emitted + len(rest) > 1 and is_cut_off(rest[-1]):
            rest = rest[:-1]  # as `parse_draft` leaves it out of the answer
        for sentence in rest:
            if shown(sentence):
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
            topics = _closest_sections(state.passages, lesson.title) or _topics(lesson)
            if decision.layer == "injection":
                return templates["injection"].format(title=lesson.title)
            named = self._named_only(state)
            if named is not None:
                return templates["named_only"].format(title=lesson.title, topic=named)
            if topics:
                return templates["lesson"].format(title=lesson.title, topics=topics)
            return templates["lesson_no_topics"].format(title=lesson.title)
        scope = state.scope
        where = f"the “{scope.course}” lessons" if scope.course else "these lessons"
        titles = [f"“{t}”" for t in sorted({p.title for p in state.passages})[:3]] or ["the lesson topics"]
        return templates["scope"].format(where=where, topics=_join(titles))

    def _named_only(self, state: AskState) -> str | None:
        """The outline line that names the asked-for topic, when only such lines match: the lesson lists it
        as something to learn but does not explain it, which is worth saying rather than a bare refusal."""
        mentions, decision = state.mentions, state.decision
        if decision is None or decision.layer != "evidence" or mentions is None or not mentions.sentences:
            return None
        index = mentions.ranked()[0]
        best = mentions.sentences[index]
        names_all = mentions.features[index]["cov_s"] >= 0.99  # every word the question hinges on is there
        if role_of(best) != "outline" or not names_all or not self.gate.decide(state.standalone, mentions).answerable:
            return None
        return readable(best.text).rstrip(".:;!")


# Words by which a question points back at the conversation ("Why is that a mistake?", "How do they differ?").
_REFERS_BACK = re.compile(
    r"\b(that|this|these|those|it|its|they|them|their|there|then|so|same|above|previous|earlier)\b", re.IGNORECASE
)


def _closest_sections(passages: list[Passage], title: str, limit: int = 3) -> str:
    """The sections of the passages retrieved for the question, closest first: where the lesson comes nearest
    to what was asked is the most useful pointer a refusal can give."""
    names: list[str] = []
    for passage in sorted(passages, key=lambda p: -p.score):
        parts = [part for part in passage.section.split(" > ") if part and part.lower() != title.lower()]
        name = parts[-1].strip().rstrip(".:?!") if parts else ""
        if name and name not in names and not (OUTLINE_SECTION.search(name) or QUIZ_SECTION.search(name)):
            names.append(name)
    return _join([f"“{n}”" for n in names[:limit]])


def _topics(lesson: LessonRecord, limit: int = 4) -> str:
    """The lesson's top-level section titles (below its title), quoted, as a short readable list."""
    sections = [s for s in lesson.sections if s.level > 1 and s.title.lower() != lesson.title.lower()]
    top = min((s.level for s in sections), default=0)
    titles: list[str] = []
    for section in sections:
        title = section.title.strip().rstrip(".:?!")
        boilerplate = OUTLINE_SECTION.search(title) or QUIZ_SECTION.search(title)
        if section.level == top and title and title not in titles and not boilerplate:
            titles.append(title)
    return _join([f"“{t}”" for t in titles[:limit]])


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
