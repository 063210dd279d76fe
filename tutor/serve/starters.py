"""Starter questions for a lesson: suggestions a learner can click, each one checked to be answerable.

A suggestion the tutor then refuses is worse than none, so every candidate is asked for real and kept
only when the answer is grounded (not refused, with citations). Candidates come from the lesson's own
structure — its section headings and the first sentence of each section — with plain grammatical
rewrites, so any lesson gets starters without hand-written questions.
"""

from __future__ import annotations

import logging
import re
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

from tutor.store.chroma import LessonRecord
from tutor.text import code_spans, in_spans, sentences

log = logging.getLogger(__name__)

# Headings that label course furniture rather than lesson content (in most course material).
_FURNITURE = re.compile(
    r"\b(quiz|assignment|challenge|homework|review|self[- ]study|references?|further reading|credits?|"
    r"resources|next steps?|table of contents|contents|acknowledg\w*|license|introduction|conclusion|"
    r"summary|recap|prerequisites?|exercise|practice|lesson map|see also|appendix)\b",
    re.IGNORECASE,
)
_WH = ("what", "why", "how", "when", "where", "which", "who")
# Verbs that open instructional headings ("Train a model", "Split your dataset") → "How do I …?".
_IMPERATIVES = frozenset(
    "add analyze apply avoid balance begin build calculate check choose clean collect compare compute "
    "configure connect commence create decide define deploy design detect develop discover draw estimate "
    "evaluate explore export find fit fix handle identify implement import improve install interpret "
    "label learn load make measure model monitor normalize optimize pick plan plot predict prepare "
    "process read reduce remove run save scale select set setup split start store structure test train "
    "transform tune understand use validate visualize write".split()
)
# Words that cannot start the subject of a definition ("Since X is a …", "It is a …").
_NOT_SUBJECT = frozenset(
    "it this that these those they there here you we i he she one each what why how when where which who "
    "since because if while although though as after before once so but and or then also however in on for "
    "with to at by from of all some most many such another other".split()
)
_PRONOUNS = re.compile(
    r"\b(?:you|your|yours|we|our|us|i|me|my|it|it's|its|they|them|their|there's|that's|"
    r"what's|let's|here's)\b",
    re.IGNORECASE,
)
_PREPOSITIONS = frozenset("of in for across with on to from by vs versus and or at into over under between".split())
_DEFINITION = re.compile(r"^([A-Z][\w\-/+ ]{1,48}?) (is|are) (?:a|an|the|one of|used|when|how|what|about)\b")
_NOT_PROSE = ("#", "-", "*", "|", ">", "!", "<", "[")


class _AskingTutor(Protocol):
    def ask(
        self, question: str, lesson_id: str | None = None, history: Any = None, course: str | None = None
    ) -> Any: ...

    def lesson(self, lesson_id: str) -> LessonRecord | None: ...


@dataclass(frozen=True)
class Candidate:
    """A question to try, with a rank so the most natural phrasings are tried first."""

    question: str
    rank: int
    order: int
    source: str = ""  # the section it came from: one starter per section keeps the suggestions varied


class StarterQuestions:
    """Verified starter questions per lesson, computed once and cached in memory."""

    def __init__(
        self, tutor: _AskingTutor, ask_lock: AbstractContextManager | None = None, max_checks: int = 12
    ) -> None:
        self.tutor = tutor
        self.ask_lock = ask_lock if ask_lock is not None else nullcontext()
        self.max_checks = max_checks
        self._cache: dict[str, tuple[int, list[str]]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def for_lesson(self, lesson_id: str, n: int = 3) -> list[str]:
        """Up to `n` questions the tutor answers from this lesson; [] for an unknown lesson."""
        with self._guard:
            cached = self._cache.get(lesson_id)
            lock = self._locks.setdefault(lesson_id, threading.Lock())
        if cached and cached[0] >= n:
            return cached[1][:n]
        with lock:  # one computation per lesson; later callers wait and reuse it
            cached = self._cache.get(lesson_id)
            if cached and cached[0] >= n:
                return cached[1][:n]
            lesson = self.tutor.lesson(lesson_id)
            if lesson is None:
                return []
            kept = self._verify(lesson, n)
            if not self._stop.is_set():  # a list cut short by close() is not the answer
                with self._guard:
                    self._cache[lesson_id] = (n, kept)
            return kept[:n]

    def cached(self, lesson_id: str) -> list[str] | None:
        """The questions if already computed (for callers that must not wait)."""
        hit = self._cache.get(lesson_id)
        return None if hit is None else list(hit[1])

    def warm(self, lesson_id: str, n: int = 3) -> threading.Thread:
        """Compute a lesson's starters in a background thread so the first visitor doesn't wait."""

        def run() -> None:
            try:
                found = self.for_lesson(lesson_id, n)
                log.info("starter questions for %s: %s", lesson_id, found)
            except Exception:  # a warm-up must never take the server down
                log.exception("could not compute starter questions for %s", lesson_id)

        thread = threading.Thread(target=run, name=f"starters-{lesson_id}", daemon=True)
        with self._guard:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return thread

    def close(self, timeout: float = 15.0) -> None:
        """Stop background work and wait for it: a thread killed mid-ask at exit can crash the process."""
        self._stop.set()
        with self._guard:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _verify(self, lesson: LessonRecord, n: int) -> list[str]:
        kept: list[str] = []
        used_sources: set[str] = set()
        checked = 0
        for candidate in candidate_questions(lesson):
            if len(kept) >= n or checked >= self.max_checks or self._stop.is_set():
                break
            if candidate.source and candidate.source in used_sources:
                continue
            checked += 1
            try:
                with self.ask_lock:
                    answer = self.tutor.ask(candidate.question, lesson_id=lesson.id)
            except Exception:
                log.exception("starter candidate %r failed on %s", candidate.question, lesson.id)
                continue
            if not answer.refused and answer.citations:
                kept.append(candidate.question)
                used_sources.add(candidate.source)
            else:
                log.debug("dropped starter %r for %s (refused)", candidate.question, lesson.id)
        return kept


def candidate_questions(lesson: LessonRecord) -> list[Candidate]:
    """Questions built from the lesson's headings and opening sentences, best phrasing first, no repeats."""
    found: list[Candidate] = []
    order = 0
    for number, section in enumerate(lesson.sections):
        source = f"{number}:{section.title}"
        heading = clean_heading(section.title)
        body = lesson.text[section.start : section.end] if lesson.text else ""
        is_title = section.level == 1 or heading.lower() == lesson.title.lower()
        if not is_title and heading and not _FURNITURE.search(heading):
            for question, rank in heading_questions(heading, lesson.title):
                found.append(Candidate(question, rank, order, source))
                order += 1
        sentence = first_sentence(body)
        if sentence:
            question = question_sentence(sentence) or definition_question(sentence)
            if question:
                found.append(Candidate(question, 1, order, source))
                order += 1
    title = clean_heading(lesson.title)
    if title and _looks_like_noun_phrase(title):
        found.append(Candidate(f"What is {_lower_first(title)}?", 6, order, "title"))
    found.sort(key=lambda c: (c.rank, c.order))
    seen: set[str] = set()
    unique = []
    for c in found:
        key = re.sub(r"\W+", " ", c.question.lower()).strip()
        if key not in seen and 3 <= len(c.question.split()) and len(c.question) <= 110:
            seen.add(key)
            unique.append(c)
    return unique


def clean_heading(title: str) -> str:
    """The heading's words: no leading emoji/numbering, no trailing colon or punctuation clutter."""
    text = re.sub(r"^[^\w¿?]+", "", title.strip())
    text = re.sub(r"^(?:\d+[.)]|step \d+[:.]?|part \d+[:.]?)\s*", "", text, flags=re.IGNORECASE)
    text = re.sub(
        r"^(?:first|second|third|fourth|next|then|finally|lastly|now|about),?\s+", "", text, flags=re.IGNORECASE
    )
    text = re.sub(r"\s+", " ", text).strip(" :-–—")
    return text


def heading_questions(heading: str, lesson_title: str) -> list[tuple[str, int]]:
    """Natural questions for one heading, each with a rank (lower = try first)."""
    words = heading.split()
    if not words:
        return []
    first = words[0].lower()
    if heading.endswith("?"):
        return [(heading, 0)]
    if first in _WH:
        return _wh_rewrite(heading, lesson_title)
    if re.search(r"[:;—–\"“”]| - |\d{3,}", heading) or len(words) > 7:
        return []  # titles with subtitles, dates or quotes do not read as questions
    if first in _IMPERATIVES and len(words) >= 2:
        phrase = re.sub(r"\byour\b", "my", re.sub(r"\byou\b", "I", _lower_first(heading)))
        return [(f"How do I {phrase}?", 3)]
    if first.endswith("ing") and len(words) >= 2 and not _PRONOUNS.search(heading):
        return [(f"What does the lesson say about {_lower_first(heading)}?", 5)]
    if not _looks_like_noun_phrase(heading):
        return []
    verb = "are" if _plural(_head_noun(words)) else "is"
    rank = 2 if len(words) >= 2 else 5
    np = _lower_first(heading)
    return [(f"What {verb} {np}?", rank), (f"Why {'do' if verb == 'are' else 'does'} {np} matter?", rank + 2)]


def _wh_rewrite(heading: str, lesson_title: str) -> list[tuple[str, int]]:
    """'Why it matters' → 'Why does <lesson> matter?'; 'What to learn' → 'What should I learn?'."""
    wh, rest = heading.split(" ", 1) if " " in heading else (heading, "")
    wh = wh.capitalize()
    topic = _lower_first(clean_heading(lesson_title)) or "this"
    match = re.fullmatch(r"to (.+)", rest, re.IGNORECASE)
    if match:
        return [(f"{wh} should I {match.group(1)}?", 2)]
    match = re.fullmatch(r"(it|this|they) (\w+?)s?( .*)?", rest, re.IGNORECASE)
    if match:
        subject = topic if match.group(1).lower() in ("it", "this") else match.group(1).lower()
        aux = "do" if match.group(1).lower() == "they" else "does"
        return [(f"{wh} {aux} {subject} {match.group(2)}{match.group(3) or ''}?", 2)]
    if rest and not re.search(r"[:;—–]", rest) and len(heading.split()) <= 8:
        return [(f"What does the lesson say about {heading[0].lower()}{heading[1:]}?", 4)]
    return []


def first_sentence(body: str) -> str:
    """The first prose sentence of a section (skips the heading, lists, tables, code and images)."""
    code = code_spans(body)
    offset = 0
    for raw in body.splitlines(keepends=True):
        start, offset = offset, offset + len(raw)
        line = raw.strip()
        if in_spans(start, code) or not line or line.startswith(_NOT_PROSE) or re.match(r"\d+\.", line):
            continue
        return sentences(line)[0]
    return ""


def question_sentence(sentence: str) -> str | None:
    """A section that opens with a short question of its own ("Why does scaling matter? …") offers it."""
    if sentence.endswith("?") and 3 <= len(sentence.split()) <= 14 and not _PRONOUNS.search(sentence):
        return sentence
    return None


def definition_question(sentence: str) -> str | None:
    """'Gradient descent is a way to …' → 'What is gradient descent?' (only for definitional sentences)."""
    match = _DEFINITION.match(sentence)
    if not match:
        return None
    subject = match.group(1).strip()
    words = subject.split()
    if not words or words[0].lower() in _NOT_SUBJECT or len(words) > 5:
        return None
    return f"What {match.group(2)} {_lower_first(subject)}?"


def _looks_like_noun_phrase(text: str) -> bool:
    """No sentence punctuation and no verbs we can spot cheaply: good enough for 'What is <heading>?'."""
    if re.search(
        r"[.!?;,:]|\b(?:is|are|was|were|do|does|did|can|cannot|should|will|not|don't|isn't)\b", text, re.IGNORECASE
    ) or _PRONOUNS.search(text):
        return False
    return len(text.split()) <= 7


def _head_noun(words: list[str]) -> str:
    """The last word before the first preposition: 'portability across model families' → 'portability'."""
    for i, word in enumerate(words):
        if i and word.lower() in _PREPOSITIONS:
            return words[i - 1]
    return words[-1]


def _plural(word: str) -> bool:
    w = word.lower()
    return len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "is", "us", "ics", "sis"))


def _lower_first(text: str) -> str:
    """Sentence case for a heading inside a question, keeping acronyms and names (RAG, LoRA, PyTorch).

    Title Case headings ("Prompt Engineering") are lowered word by word; otherwise only the first word.
    """
    words = text.split(" ")
    if not text:
        return text
    alpha = [w for w in words if w[:1].isalpha() and len(w) > 3]
    title_case = len(alpha) >= 2 and all(w[0].isupper() for w in alpha)
    out = []
    for i, word in enumerate(words):
        keep = _is_name(word) or (i > 0 and not title_case)
        out.append(word if keep else word[:1].lower() + word[1:])
    return " ".join(out)


def _is_name(word: str) -> bool:
    """Acronyms and words with inner capitals (RAG, LoRA, PyTorch, ML) keep their case."""
    letters = [ch for ch in word if ch.isalpha()]
    if len(letters) > 1 and all(ch.isupper() for ch in letters):
        return True
    return any(ch.isupper() for ch in word[1:] if ch.isalpha()) and not word.isupper()
