"""What a backend hands to verification: claims, each with the passages it cites and, when the backend
quoted the lesson itself (extractive), the exact `Sentence` it quoted, so nothing is re-parsed or re-found.

LLM text is parsed here once, and read for two things verification cannot judge sentence by sentence:
the model saying the lesson does not answer (`NOT_IN_LESSON`), and a degenerate draft (a small model stuck
in a loop, or emitting bare markers and fragments) that no single-sentence check would reject as a whole.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from tutor.ground.evidence import Sentence
from tutor.text import marker_numbers, strip_markers, terms

# A sentence of an LLM draft, with the citation markers that follow its end punctuation.
_DRAFT_SENTENCE = re.compile(r".+?(?:[.!?](?:\s*\[\d+(?:\s*,\s*\d+)*\])*(?=\s|$)|$)", re.DOTALL)

# What the answer prompt tells the model to reply when the passages do not answer (prompts/answer.yaml).
NOT_IN_LESSON = "NOT_IN_LESSON"
_NOT_IN_LESSON = re.compile(r"(?i:\bnot_in_lesson\b)|\bNOT IN (?:THE )?LESSON\b")
# A model that declines in words instead of the token: only read so when the sentence cites nothing.
_DECLINES = re.compile(
    r"\b(?:passages?|lessons?|context|texts?|sources?)\s+(?:do|does|did)\s*(?:n['’]t|not)\s+"
    r"(?:answer|cover|mention|contain|provide|include|discuss|address|say anything|explain|specify)\b|"
    r"\b(?:there is|there's|i (?:have|found))\s+no\s+information\b|"
    r"\bi\s+(?:can\s*not|can['’]t|could\s*not|couldn['’]t|am unable to)\s+(?:find|answer)\b",
    re.IGNORECASE,
)
# A sentence that ends on one of these stops mid-thought ("RAG vs.", "Prompting and.").
_DANGLING = frozenset(
    "vs versus and or but of to the a an with for than from in on by as at like between e.g i.e "
    "is are was were be".split()
)
_LIST_NUMBER = re.compile(r"(?:^|\s)\d{1,2}[.)]$")  # "1." that opens the next list item
_INITIAL = re.compile(r"[A-Z]\.")
MAX_REPEATS = 2  # the same sentence a third time means the model is looping
MIN_DISTINCT_SHARE = 0.3  # distinct content words / all content words, below which a long draft is a loop
MIN_WORDS_FOR_SHARE = 16  # shorter drafts are too small for the share to mean anything
NEAR_DUPLICATE = 0.8  # content-word Jaccard at which two sentences say the same thing
MIN_WORDS_NEAR_DUPLICATE = 4  # shorter sentences must match word for word


@dataclass(frozen=True)
class Claim:
    """One answer sentence as shown (markers removed), the 1-based passages it cites, its quote if known."""

    text: str
    passages: tuple[int, ...] = ()
    quote: Sentence | None = None


@dataclass
class Draft:
    """An answer before verification: an optional lead-in ("Here's what the lesson says:") and its claims.

    `not_in_lesson`: the model said the passages do not answer. `degenerate`: why the draft as a whole is
    unusable (empty when it is fine); the ask then quotes the lesson instead of verifying it."""

    claims: list[Claim] = field(default_factory=list)
    lead: str = ""
    not_in_lesson: bool = False
    degenerate: str = ""

    @property
    def text(self) -> str:
        return self.lead + " ".join(c.text + "".join(f" [{n}]" for n in c.passages) for c in self.claims)


def draft_sentences(text: str) -> list[str]:
    """Answer sentences, each keeping the markers that follow it."""
    return [s.strip() for s in _DRAFT_SENTENCE.findall(text.strip()) if s.strip()]


def parse_draft(text: str, lead: str = "", whole_sentences: bool = False) -> Draft:
    """A model's free text as claims: the one place answer text is parsed (LLM output is text).

    A sentence said again (`SaidBefore`) is kept once, since verifying it twice would cite it twice. With
    `whole_sentences` (a model's full reply) a last sentence cut off mid-way, as when the reply ran into
    `max_tokens`, is left out."""
    body = text[len(lead) :] if lead and text.startswith(lead) else text
    if says_not_in_lesson(body):
        return Draft([], lead, not_in_lesson=True)
    sentences = draft_sentences(body)
    if whole_sentences and len(sentences) > 1 and is_cut_off(sentences[-1]):
        sentences = sentences[:-1]
    claims: list[Claim] = []
    said = SaidBefore()
    for sentence in sentences:
        claim = Claim(strip_markers(sentence).strip(), tuple(marker_numbers(sentence)))
        if claim.text and not said.repeats(claim.text):
            claims.append(claim)
    return Draft(claims, lead, degenerate=degenerate_reason(body))


class SaidBefore:
    """The sentences of one reply so far, to tell whether a new one repeats an earlier one: word for word, or
    rewording it with nearly the same content words (how a small model's loop usually drifts)."""

    def __init__(self) -> None:
        self._said: list[tuple[str, frozenset[str]]] = []

    def group(self, sentence: str) -> int | None:
        """Which of the reply's distinct sentences `sentence` is (a new one is remembered); None when it has
        no words (markers, list numbers), which never repeat anything."""
        key = sentence_key(sentence)
        if not key:
            return None
        bag = frozenset(terms(strip_markers(sentence)))
        for index, (said_key, said_bag) in enumerate(self._said):
            if key == said_key or _near_duplicate(bag, said_bag):
                return index
        self._said.append((key, bag))
        return len(self._said) - 1

    def repeats(self, sentence: str) -> bool:
        """Whether `sentence` says again what an earlier one said (and remembers it when it does not)."""
        known = len(self._said)
        group = self.group(sentence)
        return group is not None and group < known


def _near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    return min(len(a), len(b)) >= MIN_WORDS_NEAR_DUPLICATE and len(a & b) / len(a | b) >= NEAR_DUPLICATE


def is_cut_off(sentence: str) -> bool:
    """A sentence with no end punctuation and no citation marker: generation stopped inside it."""
    return not marker_numbers(sentence) and not re.search(r"[.!?][\"'’”)\]]*$", sentence.strip())


def says_not_in_lesson(text: str) -> bool:
    """The model's reply means "the passages do not answer": the NOT_IN_LESSON token anywhere, or a first
    sentence that declines in words ("The passages do not mention …") and cites nothing."""
    if _NOT_IN_LESSON.search(text):
        return True
    first = next(iter(draft_sentences(text)), "")
    return bool(first) and not marker_numbers(first) and bool(_DECLINES.search(first))


def sentence_key(sentence: str) -> str:
    """A sentence reduced to its lowercased words, so repeats match whatever their markers or spacing."""
    return " ".join(re.findall(r"[a-z0-9]+", strip_markers(sentence).lower()))


def is_fragment(sentence: str) -> bool:
    """Markers with no words ("[1]"), a lone word, or a sentence that breaks off on a connector ("RAG vs.")."""
    body = _LIST_NUMBER.sub("", strip_markers(sentence)).strip()
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9'’.-]*", body)
    if not words:
        return bool(marker_numbers(sentence))
    if body.endswith(":"):  # the lead-in of a list that follows
        return False
    last = words[-1].lower().rstrip(".")
    return len(words) == 1 or last in _DANGLING or body.endswith((",", ";"))


def _counted(sentences: list[str]) -> list[str]:
    """The sentences that say something or cite: list numbering ("2.") or an initial ("J. F. Lawton") split
    off on its own is neither."""
    out = []
    for sentence in sentences:
        body = strip_markers(sentence).strip()
        if marker_numbers(sentence) or (re.search(r"[A-Za-z]", body) and not _INITIAL.fullmatch(body)):
            out.append(sentence)
    return out


def looping_reason(text: str) -> str:
    """Why `text` shows the model stuck in a loop, or "" — checks that only grow as text is added, so a
    stream can be stopped as soon as one fires."""
    counts = Counter(g for g in _groups(_counted(draft_sentences(text))) if g is not None)
    if counts:
        _, times = counts.most_common(1)[0]
        if times > MAX_REPEATS:
            return f"the same sentence {times} times"
    words = terms(strip_markers(text))
    if len(words) >= MIN_WORDS_FOR_SHARE and len(set(words)) / len(words) < MIN_DISTINCT_SHARE:
        return f"{len(set(words))} distinct words in {len(words)}"
    return ""


def degenerate_reason(text: str) -> str:
    """Why a finished draft is unusable as a whole, or "": looping (see `looping_reason`), half or more of
    its sentences repeats of earlier ones, or fragments making up most of what it says."""
    looping = looping_reason(text)
    if looping:
        return looping
    sentences = _counted(draft_sentences(text))
    if not sentences:
        return ""
    groups = [g for g in _groups(sentences) if g is not None]
    repeats = len(groups) - len(set(groups))
    if len(sentences) >= 2 and repeats * 2 >= len(sentences):
        return f"{repeats} of {len(sentences)} sentences repeat an earlier one"
    fragments = sum(is_fragment(s) for s in sentences)
    if fragments == len(sentences) or (fragments >= 2 and fragments * 2 >= len(sentences)):
        return f"{fragments} of {len(sentences)} sentences are fragments or bare citation markers"
    return ""


def _groups(sentences: list[str]) -> list[int | None]:
    said = SaidBefore()
    return [said.group(s) for s in sentences]


def stop_reason(text: str) -> str:
    """Why generation can stop now, or "": the model already said NOT_IN_LESSON, or it is looping."""
    if _NOT_IN_LESSON.search(text):
        return NOT_IN_LESSON
    return looping_reason(text)
