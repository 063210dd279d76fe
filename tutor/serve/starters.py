"""Starter questions for a lesson: suggestions a learner can click, each one checked to be answerable.

A suggestion the tutor then refuses is worse than none, so every candidate is asked through the same ask
flow a learner uses and kept only when the answer is grounded (not refused, with citations). Candidates
come from the lesson's own structure — section headings, defined terms ("X is a …"), bold terms and list
lead-ins — phrased as plain English questions, so any lesson gets starters without hand-written ones.
Suggestions must read as a person would ask ("What is the elbow method?"), so articles, plurals and name
casing are taken from how the lesson itself writes a term; and they must be worth three clicks, so none
restates the lesson title and no two share most of their content words.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from tutor.store.chroma import LessonRecord
from tutor.text import STOPWORDS, code_spans, content_stems, in_spans, markdown_headings, sentences

log = logging.getLogger(__name__)

# Headings that label course furniture: their text is about the course, not the subject, so it yields nothing.
_FURNITURE = re.compile(
    r"\b(quiz|assignment|challenge|homework|review|self[- ]study|references?|further reading|credits?|"
    r"resources|next steps?|table of contents|contents|acknowledg\w*|license|practice|lesson map|"
    r"see also|appendix|outcomes?|(?:learning )?objectives?|(?:learning|lesson) goals?|recap|"
    r"what (?:you|we)(?:'ll| will)|"
    r"what to learn|you will learn|key takeaways?|takeaways?|glossary|quiz\w*)\b",
    re.IGNORECASE,
)
# Headings that are boilerplate as questions ("What is Introduction?") although their text is real content.
_BOILERPLATE = re.compile(
    r"^(?:introduction|intro|summary|conclusions?|prerequisites?|overview|background|preparation|setup|"
    r"getting started|before you begin|notes?|tips?|examples?|discussion|results?|wrap[- ]up|"
    r"now|next|more|tool|tools|data|reasoning|considerations?|the plan|plan|exercises?)$",
    re.IGNORECASE,
)
# Furniture that outlines what the lesson teaches: its items name topics the body explains.
_OUTLINE = re.compile(
    r"\b(?:learn|learning|outcomes?|objectives?|goals?|cover|covers|syllabus|topics)\b|(?:you|we)(?:'ll| will)\b",
    re.IGNORECASE,
)
_EXERCISE_PREFIX = re.compile(r"^(?:exercise|activity|lab|task|try it|hands[- ]on)\s*[-–—:]\s*", re.IGNORECASE)
_WH = ("what", "why", "how", "when", "where", "which", "who")
# Verbs that open instructional headings ("Train a model", "Split your dataset") → "How do I …?".
_IMPERATIVES = frozenset(
    "add adjust analyze analyse apply ask assess assign avoid begin build calculate check choose classify "
    "clean collect "
    "combine commence compare compile compute configure connect convert count create debug decide define "
    "deploy describe detect determine develop discover divide download draw drop enable encode estimate "
    "evaluate "
    "examine explore export extract filter find fit fix follow generate get handle identify implement import "
    "improve initialize inspect install interpret launch learn load make measure merge mitigate normalize "
    "normalise open optimize pick pickle predict prepare preprocess protect publish read reduce register "
    "remove rename replace run save select serialize show simulate split start summarize take tokenize train "
    "transform translate try tune understand update use validate visualize visualise write".split()
)
# Words that are verbs or nouns ("Test your app" / "Test set"): a verb only before a/the/your/….
_NOUN_VERBS = frozenset(
    "balance chart cluster design display graph group label map model monitor plan plot print process rank "
    "report sample scale score set setup share sort store structure test view".split()
)
# Verbs of learning objectives ("Explain what …", "Judge whether …"): a skill to show, not a question to ask.
_OBJECTIVE_VERBS = frozenset(
    "explain describe understand judge identify list know recognize recognise discuss summarize summarise "
    "demonstrate appreciate state outline name recall define compare contrast justify evaluate".split()
)
# Gerunds that usually name a field or a thing ("Clustering algorithms", "Learning rate").
_NOMINAL_GERUNDS = frozenset(
    "learning training testing clustering computing processing programming engineering modeling modelling "
    "marketing banking reasoning planning forecasting networking mining tagging parsing scoring ranking "
    "encoding embedding sampling pooling boosting bagging stemming housing pricing accounting funding "
    "meaning being thing string".split()
)
_VAGUE = frozenset(
    "result results goal goals strategy idea ideas answer answers problem problems point points reason reasons "
    "output outcome approach way ways thing things premise plan question questions example examples case "
    "cases issue issues situation part parts step steps phase phases process summary details detail other "
    "another better new next first second third last final simple good best more few some basics basic "
    "solution solutions code answer".split()
)
_OBJECTS = frozenset("a an the your my our this these those some all each every".split())
# Words that cannot start the subject of a definition ("Since X is a …", "It is a …").
_NOT_SUBJECT = frozenset(
    "it this that these those they there here you we i he she one each what why how when where which who "
    "since because if while although though as after before once so but and or then also however in on for "
    "with to at by from of all some most many such another other both either neither every any no".split()
)
# Words a noun-phrase heading cannot start with ("Up and running with …", "Better comprehension via …").
_NOT_NOUN_START = frozenset(
    "up down in on out off into onto over under with without for from about beyond toward towards through "
    "after before once so but and or then now here there next more less better worse very just also let "
    "lets let's beware note yes no hello hi welcome some".split()
)
_PRONOUNS = re.compile(
    r"\b(?:you|your|yours|we|our|us|i|me|my|it|it's|its|they|them|their|there's|that's|"
    r"what's|let's|here's|he|she|his|her)\b",
    re.IGNORECASE,
)
_DETERMINERS = frozenset("a an the".split())
_PREPOSITIONS = frozenset("of in for across with on to from by vs versus and or at into over under between via".split())
_HEAD_ENDS = (_PREPOSITIONS - {"and", "or"}) | frozenset("when while if that which who where whether".split())
_POSTPOSITIVE = frozenset("common related based available used needed involved compared explained".split())
# Words after which a noun phrase shows the lesson uses it without an article ("use of variance").
_BARE_BEFORE = frozenset(
    "of in for with on to from by about as and or is are was were be like than use using called named into "
    "via vs versus than whether".split()
)
# Nouns read without an article ("What is variance?"); suffixes of abstract and mass nouns do the same.
_MASS = frozenset(
    "data information knowledge inertia bias variance entropy software hardware research feedback evidence "
    "noise privacy fairness accuracy precision recall overfitting underfitting regression classification "
    "clustering learning intelligence ai ml nlp math mathematics statistics python code metadata "
    "equipment advice progress traffic weather music money time energy care health tech technology".split()
)
_MASS_SUFFIXES = (
    "tion",
    "sion",
    "ment",
    "ness",
    "ity",
    "ance",
    "ence",
    "ing",
    "ics",
    "ism",
    "ogy",
    "acy",
    "ure",
    "sis",
)
# Adjectives that read better with "the" even before a plural ("What are the main types …?").
_THE_ADJECTIVES = frozenset("main key common notable other different basic important major core top best".split())
# Third-person verbs that close a wh-heading ("How K-Means works") → base form for "How does … work?".
_WH_VERBS = {
    "works": "work",
    "matters": "matter",
    "means": "mean",
    "happens": "happen",
    "helps": "help",
    "differs": "differ",
    "fails": "fail",
    "changes": "change",
    "learns": "learn",
    "compares": "compare",
    "fits": "fit",
    "goes": "go",
    "looks": "look",
    "does": "do",
    "has": "have",
}
_AUXILIARIES = frozenset(
    "is are was were can cannot can't could should will would must may might do does did has have".split()
)
# Content words that add nothing to a question: "Why does X matter?" says no more than "X".
_FILLER = frozenset(
    content_stems(
        "lesson say matter matters work works mean means choice difference differ compare basics overview "
        "introduction intro idea concept topic important use need learn cover explain main key point purpose "
        "goal role getting started guide fundamentals primer part"
    )
)
_NOT_PROSE = ("#", "|", ">", "!", "<")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_DEFINITION = re.compile(
    r"^(?:(The|A|An) )?([A-Z][\w\-/+ ]{0,48}?) (is|are) (?:a|an|the|one of|used|defined|called|known|"
    r"when|how|what|about|any|some)\b"
)
_LEAD_IN_PATTERNS = (
    # "There are three types of learning:" → "What are the three types of learning?"
    (
        re.compile(
            r"^there (?:are|were) (?P<q>(?:several|many|some|a few|a number of|other|two|three|four|five|six|"
            r"seven|eight|nine|ten|\d+) )(?P<np>[^,:;]{3,60}?)(?:,[^:]*)?:$",
            re.IGNORECASE,
        ),
        "What are the {q}{np}?",
    ),
    # "The main fairness-related harms can be classified as:" → "What are the main fairness-related harms?"
    (
        re.compile(
            r"^(?:the|some) (?P<q>)(?P<np>[^,:;]{3,50}?) (?:are|include|includes|can be [a-z]+(?: as| into)?|"
            r"fall into|consist of|are as follows|comprise)(?: the following)?:$",
            re.IGNORECASE,
        ),
        "What are the {np}?",
    ),
    # "To prevent bias in the first place, we should:" → "How can I prevent bias in the first place?"
    (
        re.compile(
            r"^to (?P<q>)(?P<np>[a-z][^,:;]{3,70}?), (?:you|we) (?:should|need to|can|must|have to|will need to)"
            r"(?: [a-z]+)?:$",
            re.IGNORECASE,
        ),
        "How can I {np}?",
    ),
    # "Your steps when building a bot:" → "What are the steps when building a bot?"
    (
        re.compile(
            r"^(?:your|the) (?P<q>)(?P<np>(?:steps|stages|phases|ways|options|rules|tips) (?:when|for|to|in|of) "
            r"[^,:;]{3,60}?)(?: (?:are|include))?:$",
            re.IGNORECASE,
        ),
        "What are the {np}?",
    ),
)


class _AskingTutor(Protocol):
    def answers(self, question: str, lesson_id: str) -> bool: ...

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

    def __init__(self, tutor: _AskingTutor, max_checks: int = 12) -> None:
        self.tutor = tutor
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

    def forget(self) -> None:
        """Drop every cached list (the lessons changed): each is verified again when next asked for."""
        with self._guard:
            self._cache.clear()

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
        """Ask candidates in order, at most `max_checks` of them, keeping those the tutor answers."""
        kept: list[str] = []
        used_sources: set[str] = set()
        checked = 0
        for candidate in candidate_questions(lesson):
            if len(kept) >= n or checked >= self.max_checks or self._stop.is_set():
                break
            if candidate.source and candidate.source in used_sources:
                continue
            if any(similar(candidate.question, other) for other in kept):
                continue
            checked += 1
            try:
                answered = self.tutor.answers(candidate.question, lesson.id)
            except Exception:
                log.exception("starter candidate %r failed on %s", candidate.question, lesson.id)
                continue
            if answered:
                kept.append(candidate.question)
                used_sources.add(candidate.source)
            else:
                log.debug("dropped starter %r for %s (refused)", candidate.question, lesson.id)
        return kept


# --- candidates ----------------------------------------------------------------------------------
def candidate_questions(lesson: LessonRecord) -> list[Candidate]:
    """Questions built from the lesson's structure, best phrasing first, none restating the title and no
    two alike (the better-ranked of two similar questions wins)."""
    text = lesson.text or ""
    phrasing = Phrasing(text)
    found: list[Candidate] = []
    sections = list(lesson.sections)
    for number, section in enumerate(sections):
        source = f"{number}:{section.title}"
        own_end = sections[number + 1].start if number + 1 < len(sections) else section.end
        body = text[section.start : min(own_end, section.end)]
        is_title = section.level == 1 or clean_heading(section.title).lower() == lesson.title.lower()
        topic = _topic(section, lesson.title)
        if _FURNITURE.search(section.title):
            if _OUTLINE.search(section.title) and not re.search(r"\bnot\b", section.title, re.IGNORECASE):
                found.extend(Candidate(q, r, 0, source) for q, r in outline_questions(body, topic, phrasing))
            continue
        if not is_title:
            found.extend(Candidate(q, r, 0, source) for q, r in heading_questions(section.title, topic, phrasing))
        found.extend(Candidate(q, r, 0, source) for q, r in body_questions(body, phrasing))
    for part in _title_parts(lesson.title):
        found.append(Candidate(what_is(part, phrasing), 5, 0, f"title:{part}"))
    if sections and sections[0].start > 0:  # text before the first heading
        found.extend(Candidate(q, r, 0, "lead") for q, r in body_questions(text[: sections[0].start], phrasing))
    found = [Candidate(c.question, c.rank, i, c.source) for i, c in enumerate(found)]
    found.sort(key=lambda c: (c.rank, c.order))
    unique: list[Candidate] = []
    for c in found:
        if not 3 <= len(c.question.split()) or len(c.question) > 110 or restates(c.question, lesson.title):
            continue
        if not any(similar(c.question, u.question) for u in unique):
            unique.append(c)
    return unique


def _title_parts(title: str) -> list[str]:
    """'Fine-tuning vs prompting' → ['Fine-tuning', 'prompting']: each side of a comparison is a topic."""
    parts = [p.strip() for p in re.split(r"\s+(?:vs\.?|versus)\s+", re.split(r"[:—–,]", clean_heading(title))[0])]
    return [p for p in parts if len(parts) > 1 and _looks_like_noun_phrase(p) and len(p.split()) <= 3]


def _topic(section: Any, lesson_title: str) -> str:
    """What 'it' means under this heading: the parent section's topic, else the lesson's."""
    parents = [clean_heading(t) for t in section.path[:-1]]
    for parent in reversed(parents):
        if parent and _looks_like_noun_phrase(parent) and not _FURNITURE.search(parent):
            if parent.lower() != lesson_title.lower() or parent == parents[0]:
                return parent
    return clean_heading(lesson_title)


def heading_questions(heading: str, topic: str, phrasing: Phrasing | None = None) -> list[tuple[str, int]]:
    """Natural questions for one heading, each with a rank (lower = try first)."""
    phrasing = phrasing or Phrasing("")
    text = clean_heading(heading)
    exercise = bool(_EXERCISE_PREFIX.match(text))
    text = _EXERCISE_PREFIX.sub("", text).strip()
    text = re.sub(r"(?<!\w)'([^']+)'(?!\w)", r"\1", text)  # "The 'Turing test'" → "The Turing test"
    words = text.split()
    if any(_BOILERPLATE.match(part.strip()) for part in re.split(r"\s+(?:and|&)\s+", text)):
        return []  # "Prerequisites and setup"
    if not words or _BOILERPLATE.match(text) or _FURNITURE.search(text):
        return []
    if text.endswith("?"):
        return [(text[0].upper() + text[1:], 0)]
    first = words[0].lower()
    if first in _WH:
        return _wh_rewrite(text, topic, phrasing)
    if re.search(r"[:;—–\"“”!]| - |\d{3,}", text) or len(words) > 8:
        return []  # titles with subtitles, dates or quotes do not read as questions
    how = _how_do_i(text, phrasing)
    if how is not None:
        return [(how, 4 if exercise else 3)] if how else []
    if exercise:
        return []  # "Exercise - preparation" names an activity, not a concept
    compared = re.fullmatch(r"(.+?) compared", text, re.IGNORECASE)
    if compared and _looks_like_noun_phrase(compared.group(1)):
        np = phrasing.inline(compared.group(1))
        return [(f"How do {np} compare?" if phrasing.plural(np) else f"How does {np} compare?", 2)]
    if not _looks_like_noun_phrase(text) or _vague(text):
        return []
    if len(words) == 1 and first in _IMPERATIVES:
        return []  # "Predict": a step, not a topic
    if first.endswith("ing") and len(words) > 1 and first not in _NOMINAL_GERUNDS:
        if words[1].lower() in _OBJECTS:
            return []  # "Seeing the result in action": a clause, not a name
        return [(f"What does the lesson say about {phrasing.inline(text)}?", 4)]
    if len(words) == 1 and not (_is_name(words[0]) or phrasing.defines(text)):
        return [(what_is(text, phrasing), 5)]
    return [(what_is(text, phrasing), 1 if phrasing.defines(text) else 2)]


def body_questions(body: str, phrasing: Phrasing) -> Iterator[tuple[str, int]]:
    """Questions from a section's own text: an opening question, definitions, bold terms, list lead-ins."""
    lines = _prose_lines(body)
    definitions = 0
    outline = False
    for index, (raw, line, is_item) in enumerate(lines):
        if not is_item:
            outline = line.endswith(":") and bool(_OUTLINE.search(line)) and not re.search(r"\bnot\b", line)
        elif outline:  # "In this lesson you will learn:" — the items are topics, not answers
            yield from outline_questions(raw, "", phrasing)
            continue
        if index == 0 and not is_item:
            opening = sentences(line)[0] if line else ""
            question = question_sentence(opening)
            if question:
                yield question, 0
        for term in bold_terms(raw):
            yield from ((q, r + 2) for q, r in heading_questions(term, "", phrasing) if not q.startswith("What does"))
        next_is_list = index + 1 < len(lines) and lines[index + 1][2]
        if line.endswith(":") and next_is_list and not is_item and not outline:
            question = lead_in_question(line)
            if question:
                yield question, 2
        if definitions < 2:
            for sentence in sentences(line)[:3]:
                question = definition_question(sentence, phrasing)
                if question:
                    definitions += 1
                    yield question, 1 if phrasing.in_headings(_subject_of(question)) else 3
                    break


def outline_questions(body: str, topic: str, phrasing: Phrasing) -> Iterator[tuple[str, int]]:
    """Questions from the items of a 'What you will learn' list: 'How to use Matplotlib' → 'How do I use
    Matplotlib?', 'Why RAG, not fine-tuning, is usually right for facts' → 'Why is RAG usually right for
    facts?', 'Elbow method' → 'What is the elbow method?' (a bare term only when the body mentions it too, so
    a topic the lesson merely names is not offered)."""
    for _, item, is_item in _prose_lines(body):
        if not is_item:
            continue
        item = re.sub(r"\s*\([^)]*\)", "", item)
        item = re.sub(r",\s*not [^,]+,", "", item)
        item = re.sub(r"(?<!\w)'([^']+)'(?!\w)", r"\1", item)
        item = re.split(r",|\s+(?:versus|vs\.?|compared to|rather than|such as|including|like|e\.g\.)\s+|\.\s", item)[0]
        item = item.strip(" .;:")
        words = item.split()
        if not words or len(words) > 10:
            continue
        first = words[0].lower()
        if first in _WH:
            yield from ((q, 3) for q, _ in _wh_rewrite(item, topic, phrasing))
        elif first not in _OBJECTIVE_VERBS and _how_do_i(item, phrasing):
            yield _how_do_i(item, phrasing) or "", 3
        elif first in _IMPERATIVES:
            continue
        elif len(words) <= 4 and _looks_like_noun_phrase(item) and phrasing.count(item) >= 2:
            if not _BOILERPLATE.match(item) and not first.endswith("ing") or len(words) == 1:
                yield what_is(item, phrasing), 3


def _prose_lines(body: str) -> list[tuple[str, str, bool]]:
    """(raw, plain, is_list_item) for each line of prose or list outside code, headings, tables and quotes."""
    code = code_spans(body)
    out = []
    offset = 0
    for raw in body.splitlines(keepends=True):
        start, offset = offset, offset + len(raw)
        line = raw.strip()
        if in_spans(start, code) or not line or line.startswith(_NOT_PROSE) or line.startswith("```"):
            continue
        is_item = bool(_LIST_ITEM.match(line))
        plain = _plain(_LIST_ITEM.sub("", line))
        if plain:
            out.append((line, plain, is_item))
    return out


def bold_terms(line: str) -> list[str]:
    """Terms the lesson marks as such: a bold lead of a line or list item ("- **Inertia**. …"), or bold after
    'called'/'known as'/'the term'. Bold used for emphasis mid-sentence is not a term."""
    text = _LIST_ITEM.sub("", line.strip())
    found = []
    lead = re.match(r"^\*\*([^*]{2,60}?)\*\*\s*(?:[.:,(–—-]|(?:is|are|refers|means)\b|$)", text)
    if lead:
        found.append(lead.group(1))
    found += re.findall(
        r"\b(?:called|known as|termed|named|term\b[^.*]{0,30}?\bis)\s+(?:the\s+|an?\s+)?\*\*([^*]{2,60}?)\*\*",
        text,
        re.IGNORECASE,
    )
    terms = [re.sub(r"\s+", " ", _plain(t)).strip(" .:") for t in found if not _PRONOUNS.search(t)]
    return [t for t in terms if t and (t[0].isupper() or len(t.split()) <= 2) and not _inner_determiner(t)]


def _inner_determiner(text: str) -> bool:
    """'uses the one-vs-rest scheme': a determiner inside marks a clause (a verb-led one unless imperative)."""
    words = text.lower().split()
    return words[0] not in _IMPERATIVES and any(w in _DETERMINERS for w in words[1:])


def lead_in_question(line: str) -> str | None:
    """A sentence that introduces a list ("There are three types of X:") asks for that list."""
    sentence = sentences(line)[-1] if line else ""
    for pattern, template in _LEAD_IN_PATTERNS:
        match = pattern.match(sentence)
        if match:
            np = _first_person(match.group("np").strip())
            if re.search(r"\b(?:this|these|those|that|it|they)\b", np, re.IGNORECASE):
                return None  # "some of these" points back at something the learner can't see
            quantity = match.group("q").lower()
            if quantity.strip() in ("many", "several", "a few", "a number of"):
                quantity = "" if template.startswith("What are the") else quantity
                template = template.replace("What are the", "What are some")
            question = template.format(q=quantity, np=np)
            if template.startswith("What are") and not match.group("q") and not Phrasing("").plural(np):
                question = question.replace("What are", "What is", 1)
            return question[0].upper() + question[1:]
    return None


def question_sentence(sentence: str) -> str | None:
    """A section that opens with a short question of its own ("Why does scaling matter? …") offers it."""
    first = sentence.split(" ", 1)[0].lower()
    if first not in _WH and first not in _AUXILIARIES:
        return None  # "Remember how …?", "Ever wondered …?": rhetorical, not a question to ask
    if sentence.endswith("?") and 3 <= len(sentence.split()) <= 14 and not _PRONOUNS.search(sentence):
        return sentence
    return None


def definition_question(sentence: str, phrasing: Phrasing | None = None) -> str | None:
    """'Gradient descent is a way to …' → 'What is gradient descent?' (only for definitional sentences)."""
    phrasing = phrasing or Phrasing("")
    sentence = re.sub(r"\s*\([^)]*\)|['\"‘’“”]", "", _plain(sentence))
    sentence = re.sub(r"^the term ", "", sentence, flags=re.IGNORECASE)
    sentence = re.sub(r"^\d{3,4}s?,?\s+", "", sentence)  # "1957 Perceptron is a …" in a timeline
    sentence = sentence[0].upper() + sentence[1:] if sentence else sentence
    match = _DEFINITION.match(sentence)
    if not match:
        return None
    article, subject, verb = (match.group(1) or "").lower(), match.group(2).strip(" '"), match.group(3)
    words = subject.split()
    if not words or len(words) > 5 or words[0].lower() in _NOT_SUBJECT or _PRONOUNS.search(subject):
        return None
    deictic = r"\b(?:this|that|these|those|here|there|is|are|which|who)\b"
    if words[0].lower().endswith("ly") or re.search(deictic, subject, re.IGNORECASE):
        return None  # "Luckily this is …"
    if _vague(subject):
        return None
    if any(w.lower() in _DETERMINERS for w in words[1:]) or (len(words) > 1 and words[0].lower().endswith("ing")):
        return None  # "A friend at a pinch …", "Building ML systems is …": a clause, not a term
    np = phrasing.inline(subject)
    return f"What {verb} {article + ' ' if article else ''}{np}?"


def what_is(noun_phrase: str, phrasing: Phrasing) -> str:
    """'Elbow method' → 'What is the elbow method?', 'Variance' → 'What is variance?'."""
    words = noun_phrase.split()
    np = phrasing.inline(noun_phrase)
    verb = "are" if phrasing.plural(noun_phrase) else "is"
    if words[0].lower() in _DETERMINERS:
        return f"What {verb} {np}?"
    article = phrasing.article(noun_phrase)
    return f"What {verb} {article + ' ' if article else ''}{np}?"


def _how_do_i(text: str, phrasing: Phrasing | None = None) -> str | None:
    """'Split your dataset' / 'Splitting the dataset' → 'How do I split my dataset?'; '' for a verb-led
    heading that reads badly as a question, None when the heading does not start with a verb."""
    words = re.sub(r"\s*\([^)]*\)", "", text).split()
    if len(words) < 2 or re.search(r"[.!?;,:]", text):
        return None
    first, follows = words[0].lower(), words[1].lower()
    base = None
    if first in _IMPERATIVES or (first in _NOUN_VERBS and follows in _OBJECTS):
        base = first
    elif first.endswith("ing") and len(first) >= 5 and (first not in _NOMINAL_GERUNDS or follows in _OBJECTS):
        guess = _base_verb(first[:-3])
        known = guess in _IMPERATIVES or guess in _NOUN_VERBS
        if guess and (known or follows in _OBJECTS or follows in ("started", "up", "out", "with", "to")):
            base = guess
    if base is None:
        return None
    rest = _first_person((phrasing or Phrasing("")).inline(" ".join(words[1:])))
    if re.search(r"\b(?:it|them|that|those)\b|\b(?:this|these)$", rest, re.IGNORECASE):
        return ""  # "Make it useful": the learner can't tell what "it" is
    return f"How do I {base} {rest}?"


def _base_verb(stem: str) -> str | None:
    """The base form behind a gerund's stem ('gett' → 'get', 'mitigat' → 'mitigate'); None when unsure."""
    for guess in (stem, stem + "e", stem[:-1] if len(stem) >= 4 and stem[-1] == stem[-2] else ""):
        if guess in _IMPERATIVES:
            return guess
    if len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        return stem[:-1]
    if stem.endswith(("at", "iz", "yz", "v", "ur", "ar", "c", "bl", "pl", "dl", "kl", "gl", "ag", "rg", "dg")):
        return stem + "e"
    if stem.endswith(("ct", "ld", "nd", "rt", "st", "pt", "ck", "rk", "sh", "ch", "ft", "rn", "rm", "lp", "ss")):
        return stem
    return None


def _wh_rewrite(heading: str, topic: str, phrasing: Phrasing) -> list[tuple[str, int]]:
    """Wh-clauses as questions: 'Why it matters' → 'Why does <topic> matter?', 'What to learn' → 'What
    should I learn?', 'What AI cannot do' → 'What can't AI do?', 'What you need' → 'What do I need?'."""
    words = re.sub(r"\s+(?:here|now)$", "", heading, flags=re.IGNORECASE).split()
    if re.search(r"[:;—–\"“”]", heading) or len(words) > 9 or len(words) < 2:
        return []
    wh, rest = words[0].capitalize(), words[1:]
    lowered = [w.lower() for w in rest]
    if "to" in lowered and lowered.index("to") <= 2:  # "What to learn", "What question to ask"
        i = lowered.index("to")
        subject = " ".join(rest[:i])
        verb = "do I" if wh == "How" and not subject else "should I"
        return [(f"{wh} {subject + ' ' if subject else ''}{verb} {_first_person(' '.join(rest[i + 1 :]))}?", 2)]
    if lowered[0] in ("it", "this", "they") and len(rest) >= 2:
        subject = phrasing.inline(topic) if lowered[0] in ("it", "this") and topic else lowered[0]
        verb = _WH_VERBS.get(lowered[1], lowered[1][:-1] if lowered[1].endswith("s") else lowered[1])
        aux = "do" if lowered[0] == "they" or phrasing.plural(topic or "x") else "does"
        return [(f"{wh} {aux} {subject} {' '.join([verb, *rest[2:]])}?", 2)]
    if lowered[0] in ("you", "we", "i") and len(rest) >= 2:
        if lowered[1] in _AUXILIARIES:
            return [(f"{wh} {_invert(lowered[1], 'I', rest[2:])}?", 2)]
        return [(f"{wh} do I {_first_person(' '.join(rest[1:]))}?", 2)]
    for i, word in enumerate(lowered[1:], start=1):
        if word in _AUXILIARIES:
            subject = phrasing.inline(" ".join(rest[:i]))
            if not _looks_like_noun_phrase(" ".join(rest[:i])):
                return []
            return [(f"{wh} {_invert(word, subject, rest[i + 1 :])}?", 2)]
        base = _WH_VERBS.get(word) or (word if word in _WH_VERBS.values() else "")
        if base and _looks_like_noun_phrase(" ".join(rest[:i])):  # "Why shallow trees work well"
            subject = " ".join(rest[:i])
            if word == base and not phrasing.plural(subject):
                return []
            aux = "do" if word == base else "does"
            return [(f"{wh} {aux} {phrasing.inline(subject)} {' '.join([base, *rest[i + 1 :]])}?", 2)]
    return []


def _invert(aux: str, subject: str, rest: list[str]) -> str:
    """'AI cannot do' → "can't AI do"; 'the cost is worth it' → 'is the cost worth it'."""
    tail = list(rest)
    negative = aux == "cannot" or (tail and tail[0].lower() == "not")
    if tail and tail[0].lower() == "not":
        tail = tail[1:]
    aux = {"cannot": "can", "can't": "can"}.get(aux, aux)
    if aux in ("do", "does", "did") and not negative and (not tail or tail[0].lower() not in _IMPERATIVES):
        tail = ["do", *tail]  # "What AI does well" → "What does AI do well"
    lead = {"can": "can't", "will": "won't", "shall": "shan't"}.get(aux, f"{aux}n't") if negative else aux
    return " ".join([lead, subject, *tail]).strip()


# --- the lesson's own usage of words ------------------------------------------------------------
class Phrasing:
    """How the lesson writes its terms: with which article, in which case, singular or plural.

    English articles depend on the word ("the elbow method" but "variance", "K-Means clustering"), which a
    rule cannot know but the lesson shows; when the lesson is silent, noun morphology decides.
    """

    def __init__(self, text: str) -> None:
        spans = code_spans(text)
        text = "".join(text[a:b] for a, b in zip([0] + [e for _, e in spans], [s for s, _ in spans] + [len(text)]))
        prose = "\n".join(ln for ln in _plain(text).splitlines() if not ln.lstrip().startswith("#"))
        self.prose = re.sub(r"['\"‘’“”]", "", prose)
        self.lower = self.prose.lower()
        self._words = Counter(re.findall(r"[\w][\w\-]*", self.prose))
        self._heading_stems = {st for _, title, _ in markdown_headings(text) for st in content_stems(_plain(title))}

    def in_headings(self, phrase: str) -> bool:
        """Whether a heading names the phrase: a term the lesson is organised around, not an aside."""
        stems = set(content_stems(phrase))
        return bool(stems) and stems <= self._heading_stems

    def count(self, phrase: str) -> int:
        """How often the lesson mentions a phrase (whole words, any case)."""
        if not phrase:
            return 0
        return len(re.findall(rf"(?<![\w-]){re.escape(phrase.lower())}(?![\w-])", self.lower))

    def defines(self, phrase: str) -> bool:
        """Whether the lesson has '<phrase> is/are/refers to/means …' (so 'What is <phrase>?' is answerable)."""
        p = re.escape(re.sub(r"^(?:the|a|an) ", "", phrase.lower()))
        return bool(re.search(rf"(?<![\w-]){p}(?: \([^)]*\))? (?:is|are|refers to|means|measures|helps)\b", self.lower))

    def article(self, phrase: str) -> str:
        """'the', 'a', 'an' or '' for a noun phrase, by the lesson's own usage, else by its head noun."""
        p = re.escape(phrase.lower())
        determined: Counter[str] = Counter()
        bare = 0
        for match in re.finditer(rf"(?<![\w-]){p}(?![\w-])(?P<after> [\w-]+)?", self.lower):
            after = (match.group("after") or "").strip()
            if after and after not in STOPWORDS and not re.match(r"\w+(?:ed|s)$", after):
                continue  # "the K-Means clustering process": the article belongs to "process"
            before = re.findall(r"([\w-]+)\W*$", self.lower[max(0, match.start() - 20) : match.start()])
            prev = before[-1] if before else ""
            if prev in _DETERMINERS:
                determined["the" if prev == "the" else "a"] += 1
            elif not prev or prev in _BARE_BEFORE or not re.search(r"[\w-]\s*$", self.lower[: match.start()]):
                bare += 1  # "… of variance", "Variance is …": read without an article
        if determined and sum(determined.values()) > bare:
            det = determined.most_common(1)[0][0]
            return ("an" if re.match(r"[aeiou]", phrase, re.IGNORECASE) else "a") if det == "a" else "the"
        if bare:
            return ""
        words = phrase.split()
        head = _head_noun(words).lower()
        if self.plural(phrase):  # "What are the types of X?", "What are the main steps?", "What are notebooks?"
            specific = words[0].lower() in _THE_ADJECTIVES or any(w.lower() in ("of", "for", "in") for w in words)
            return "the" if specific else ""
        if all(self.proper(w) or _is_name(w) for w in words) or _is_name(head) or self.proper(head):
            return ""
        if head in _MASS or head.endswith(_MASS_SUFFIXES):
            return ""
        return "the"

    def plural(self, phrase: str) -> bool:
        words = phrase.split()
        if not words:
            return False
        if any(w.lower() == "and" for w in words[1:]) and _head_noun(words) == words[-1]:
            return True
        head = _head_noun(words).lower()
        if head in _MASS or _is_name(head):
            return False
        return len(head) > 3 and head.endswith("s") and not head.endswith(("ss", "is", "us", "ics", "sis", "as"))

    def proper(self, word: str) -> bool:
        """A capitalised word the lesson mostly writes so, and writes so mid-sentence or never in lower case:
        a name (Fairlearn, Onnx, Turing), not a heading's or a sentence's first word."""
        if not word[:1].isupper() or word[1:] != word[1:].lower():
            return False
        lower, upper = self._words.get(word.lower(), 0), self._words.get(word, 0)
        if not lower and upper >= 3:
            return True
        mid = re.search(rf"(?:\b[a-z][\w-]*,?|\d) {re.escape(word)}(?![\w-])", self.prose)
        return bool(mid) and upper >= lower

    def inline(self, text: str) -> str:
        """A heading's words as they read inside a question: lower case but for acronyms and names, which
        the lesson shows by writing them capitalised mid-sentence ('Visual Studio Code', 'Fairlearn')."""
        words = text.split(" ")
        if len(words) > 1 and re.search(rf"(?:\b[a-z][\w-]*,?|\d) {re.escape(text)}(?![\w-])", self.prose):
            if not self.lower.count(f" {text.lower()}") > self.prose.count(f" {text}"):
                return text  # the lesson writes the phrase this way in running text
        out = []
        for word in words:
            keep = _is_name(word) or self.proper(word) or not word[:1].isupper()
            out.append(word if keep else "-".join(part[:1].lower() + part[1:] for part in word.split("-")))
        return " ".join(out)


def _vague(text: str) -> bool:
    """'The premise', 'Another way', 'A better approach': words that only mean something in place."""
    words = [w.lower() for w in re.findall(r"[\w'-]+", text) if w.lower() not in _DETERMINERS]
    return bool(words) and all(w in _VAGUE for w in words)


# --- similarity ---------------------------------------------------------------------------------
def _content(question: str) -> set[str]:
    stems = set(content_stems(question))
    return (stems - _FILLER) or stems


def similar(a: str, b: str) -> bool:
    """Two questions share most of their content words (the smaller one's, more than half)."""
    ca, cb = _content(a), _content(b)
    if not ca or not cb:
        return a.strip().lower() == b.strip().lower()
    return len(ca & cb) * 2 > min(len(ca), len(cb))


def restates(question: str, title: str) -> bool:
    """The question adds nothing to the lesson title: its content words are the title's, covering most of it
    ('Why does fine-tuning vs prompting matter?' for 'Fine-tuning vs prompting')."""
    t = set(content_stems(_one_word(clean_heading(title)))) - _FILLER
    q = set(content_stems(_one_word(question))) - _FILLER
    return bool(t) and q <= t and len(q & t) * 2 > len(t)


# --- small text helpers -------------------------------------------------------------------------
def _one_word(text: str) -> str:
    """Hyphenated words as one word ("fine-tuning"), so a compound counts once against a title's words."""
    return re.sub(r"(?<=\w)-(?=\w)", "", text)


def clean_heading(title: str) -> str:
    """The heading's words: no leading emoji/numbering, no trailing colon or punctuation clutter."""
    text = _plain(title.strip())
    text = re.sub(r"(?<!\w)'([^']+)'(?!\w)", r"\1", text)  # "The 'Turing test'" → "The Turing test"
    text = re.sub(r"^[^\w¿?]+", "", text)
    text = re.sub(r"^(?:\d+[.)]|step \d+[:.]?|part \d+[:.]?)\s*", "", text, flags=re.IGNORECASE)
    text = re.sub(
        r"^(?:first|second|third|fourth|next|then|finally|lastly|now|about),?\s+", "", text, flags=re.IGNORECASE
    )
    text = re.sub(r"[^\w?)]+$", "", text)
    text = re.sub(r"\s+", " ", text).strip(" :-–—")
    return text


def _plain(markdown: str) -> str:
    """Markdown as the words a reader sees: link text, no images, emphasis marks, code ticks or HTML."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", markdown)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"(\*\*|__|\*|`)", "", text)
    text = re.sub(r"(?<!\w)_([^_]+)_(?!\w)", r"\1", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def _first_person(text: str) -> str:
    """A heading addressed to the learner, as the learner asks it: 'your data' → 'my data'."""
    text = re.sub(r"\byour\b", "my", text, flags=re.IGNORECASE)
    text = re.sub(r"\byourself\b", "myself", text, flags=re.IGNORECASE)
    return re.sub(r"\byou\b", "I", text, flags=re.IGNORECASE)


def _subject_of(question: str) -> str:
    return re.sub(r"^What (?:is|are) (?:(?:the|a|an) )?|\?$", "", question)


def _looks_like_noun_phrase(text: str) -> bool:
    """No sentence punctuation, verbs we can spot cheaply, pronouns or leading function words."""
    words = text.split()
    if not words or len(words) > 7 or words[0].lower() in _NOT_NOUN_START or any(w.endswith("-") for w in words):
        return False
    if words[-1].lower() in _PREPOSITIONS | _DETERMINERS or re.search(r"\w[a-z]s to \w", text):
        return False  # "… of", "Reward starts to drop"
    return not (
        re.search(
            r"[.!?;,:+]|\b(?:is|are|was|were|do|does|did|can|cannot|could|should|would|will|may|might|must|not|"
            r"don't|isn't|has|have)\b",
            text,
            re.IGNORECASE,
        )
        or _PRONOUNS.search(text)
    )


def _head_noun(words: list[str]) -> str:
    """The last word before the first preposition: 'portability across model families' → 'portability',
    'word and phrase frequencies' → 'frequencies', 'tasks common to NLP' → 'tasks'."""
    end = next((i for i, w in enumerate(words) if i and w.lower() in _HEAD_ENDS), len(words))
    head = words[end - 1]
    if end > 1 and head.lower() in _POSTPOSITIVE:
        head = words[end - 2]
    return head


def _is_name(word: str) -> bool:
    """Acronyms and words with inner capitals (RAG, LoRA, PyTorch, K-Means) keep their case; a Title-Cased
    compound (Fine-Tuning) does not."""
    letters = [ch for ch in word if ch.isalpha()]
    if len(letters) > 1 and all(ch.isupper() for ch in letters):
        return True
    parts = [p for p in word.split("-") if p]
    if len(parts) > 1 and all(len(p) > 1 and p[0].isupper() and p[1:] == p[1:].lower() for p in parts):
        return False
    return any(ch.isupper() for ch in word[1:] if ch.isalpha()) and not word.isupper()
