"""Answer units: lesson sentences grouped with the context they need to be read on their own.

A sentence quoted alone can mislead or say nothing: "Fine-tuning to teach the model new facts." is the
first line of a "Common pitfall" section, "K-means works in three steps:" is empty without its list, and
"Changes: the model's weights" needs the heading it belongs to. A unit is a contiguous stretch of a passage
(so it is cited as one verbatim span) plus the words that make it readable, and a role that tells a body
passage that explains from an outline bullet or a quiz line that only names the topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor.ground.evidence import Sentence, split_sentences
from tutor.text import content_stems, unquoted

# Sections whose bullets announce topics rather than explain them.
OUTLINE_SECTION = re.compile(
    r"\b(?:learning\s+)?(?:objectives?|outcomes?|goals?)\b|\bwhat\s+(?:you(?:'ll|\s+will)\s+|to\s+|we(?:'ll|\s+will)\s+)"
    r"(?:learn|cover|build)\b|\bin\s+this\s+(?:lesson|section|chapter|module|tutorial)\b|\b(?:overview|outline|agenda|"
    r"syllabus|contents|topics\s+covered|prerequisites?|further\s+reading|self[- ]?study|references|credits)\b",
    re.IGNORECASE,
)
QUIZ_SECTION = re.compile(
    r"\b(?:quiz(?:zes)?|assignments?|challenges?|exercises?|self[- ]?check|review\s+questions|homework)\b",
    re.IGNORECASE,
)
# Sentences that announce what a lesson will do instead of saying anything about the topic.
_OUTLINE_SENTENCE = re.compile(
    r"\b(?:you(?:'ll|\s+will)\s+(?:learn|be\s+able|discover|explore|see|find\s+out|build|cover)|"
    r"we(?:'ll|\s+will)\s+(?:learn|cover|discuss|explore|look\s+at|see|build|dive)|"
    r"(?:in|by\s+the\s+end\s+of)\s+this\s+(?:lesson|section|chapter|module|tutorial)|"
    r"this\s+(?:lesson|section|chapter|module|tutorial)\s+(?:covers|will|introduces|explains|shows))\b",
    re.IGNORECASE,
)
_LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)])\s+")
_FIELD = re.compile(r"^([A-Z][\w /&-]{0,30}):\s+\S")
_NEEDS_PREVIOUS = re.compile(
    r"^(?:this|that|these|those|it|they|such|however|but|so|thus|therefore|instead|also|then|here)\b", re.IGNORECASE
)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_SYMBOLS = re.compile(r"[\u2600-\u27bf\U0001f000-\U0001faff\ufe0f\u200d]+")
MAX_LIST_ITEMS = 8
SHORT_LIST = 5  # a list this short is quoted whole when any of its items matches
FRAGMENT_WORDS = 10  # a section's first line this short, with a sentence after it, is a lead-in


@dataclass(frozen=True)
class AnswerUnit:
    """Sentences `parts` (contiguous, one passage), the core sentence that matched, and how to show them.

    `role` is "body", "outline" (objectives, outlines, "you will learn") or "quiz" (questions, exercises)."""

    core: Sentence
    parts: tuple[Sentence, ...]
    text: str
    role: str

    @property
    def quote(self) -> Sentence:
        """The whole unit as one verbatim span of the lesson, for its citation."""
        first, last = self.parts[0], self.parts[-1]
        p = first.passage
        raw = p.text[first.start - p.start : last.end - p.start]
        return Sentence(raw, p, first.start, last.end, self.core.score, first.heading)

    def answers(self, question: str) -> bool:
        """Whether the unit can be quoted as an answer: body text, complete (not a lead-in whose list or
        formula is missing), at least a few words once Markdown is gone, and more than the question said."""
        complete = not self.text.endswith(":") and len(self.text.split()) >= 3
        return self.role == "body" and complete and not self.restates(question)

    def restates(self, question: str) -> bool:
        """True when the unit adds (almost) nothing the question did not already say: its content words,
        less the question's and its heading's, are fewer than two. Options the question quotes ("Is it 'A'
        or 'B'?") do not count as said: an answer that picks one is not a restatement."""
        known = set(content_stems(unquoted(question))) | set(content_stems(self.core.heading))
        new = set(content_stems(self.text)) - known
        return len(new) < 2


def role_of(sentence: Sentence) -> str:
    """The role: quiz for questions and exercise sections, outline for objectives and plans, else body."""
    heading = sentence.heading.split(" > ")[-1] if sentence.heading else ""
    if sentence.text.rstrip().endswith("?") or QUIZ_SECTION.search(heading):
        return "quiz"
    if OUTLINE_SECTION.search(heading) or _OUTLINE_SENTENCE.search(sentence.text):
        return "outline"
    return "body"


def unit_for(sentence: Sentence, siblings: list[Sentence]) -> AnswerUnit:
    """The unit built around `sentence`; `siblings` are all sentences of its passage, in order."""
    index = next(i for i, s in enumerate(siblings) if s.start == sentence.start)
    whole = _short_list_around(siblings, index)
    if whole:
        return AnswerUnit(sentence, tuple(whole), _compose(whole, ""), role_of(sentence))
    parts = [sentence]
    if sentence.text.rstrip().endswith(":"):
        parts += _list_after(siblings, index)
    elif _opens_section(siblings, index) and index + 1 < len(siblings) and _same_block(sentence, siblings[index + 1]):
        parts.append(siblings[index + 1])
    elif _NEEDS_PREVIOUS.match(sentence.text) and index > 0 and _same_block(siblings[index - 1], sentence):
        parts.insert(0, siblings[index - 1])
    lead = _lead_in(sentence, siblings, index) if len(parts) == 1 and _is_list_item(sentence) else ""
    return AnswerUnit(sentence, tuple(parts), _compose(parts, lead), role_of(sentence))


def readable(text: str) -> str:
    """Lesson Markdown as prose: links as their text, no emphasis marks, emoji or image syntax."""
    text = _LINK.sub(lambda m: m.group(1), _IMAGE.sub("", text))
    text = _EMPHASIS.sub(lambda m: m.group(2), text)
    text = _SYMBOLS.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


def _compose(parts: list[Sentence], lead: str) -> str:
    if len(parts) > 1 and parts[0].text.rstrip().endswith(":") and _is_list_item(parts[1]):
        items: list[str] = []
        for part in parts[1:]:
            text = readable(part.text)
            if _is_list_item(part) or not items:
                items.append(text)
            else:  # a further sentence of the same item
                items[-1] = f"{items[-1]} {text}"
        listed = ""
        for item in items:  # an item ending in ":" runs on into its own sub-list
            listed += " " if not listed or listed.endswith(":") else "; "
            listed += item if item.endswith(":") else item.rstrip(".;")
        return f"{readable(parts[0].text)}{listed}."
    text = " ".join(readable(p.text) for p in parts)
    if lead:
        text = f"{lead} — {text}" if _FIELD.match(text) else f"{lead}: {text}"
    return text if re.search(r"[.!?:]$", text) else text + "."


def _list_after(siblings: list[Sentence], index: int) -> list[Sentence]:
    """The list a sentence ending in ":" introduces: its items (nested ones too) and their further sentences."""
    items: list[Sentence] = []
    previous = siblings[index]
    for s in siblings[index + 1 :]:
        p = s.passage
        same_line = "\n" not in p.text[previous.end - p.start : s.start - p.start]
        if not (_is_list_item(s) or (items and same_line)) or not _same_block(previous, s, gap=2):
            break
        if _is_list_item(s) and sum(_is_list_item(i) for i in items) == MAX_LIST_ITEMS:
            break
        items.append(s)
        previous = s
    return items


def _short_list_around(siblings: list[Sentence], index: int) -> list[Sentence]:
    """The lead-in and all items of a short list ("... in three steps:" and its steps) holding the item at
    `index`: one step quoted alone answers "how" with a third of the answer."""
    if not _is_list_item(siblings[index]):
        return []
    for lead in range(index - 1, -1, -1):
        if not _is_list_item(siblings[lead]):
            if not siblings[lead].text.rstrip().endswith(":"):
                return []
            items = _list_after(siblings, lead)
            listed = sum(_is_list_item(s) for s in items)
            inside = any(s.start == siblings[index].start for s in items)
            return [siblings[lead], *items] if inside and listed <= SHORT_LIST else []
    return []


def _lead_in(sentence: Sentence, siblings: list[Sentence], index: int) -> str:
    """What a list item hangs from: the line introducing its list, else the heading it sits under.

    A bullet alone can say the opposite of its lesson ("Transfer weights across providers" under "What AI
    cannot do"), and a "Field: value" line names neither the thing nor the topic it describes."""
    text = sentence.passage.text
    offset = sentence.start - sentence.passage.start
    for line in reversed(text[:offset].splitlines()):
        stripped = line.strip()
        if not stripped or _LIST_ITEM.match(line):
            continue
        if stripped.startswith("#"):
            break
        lead = readable(stripped).rstrip(":.")
        return lead if len(lead) <= 80 else ""
    heading = sentence.heading.split(" > ")[-1] if sentence.heading else ""
    return readable(heading).rstrip(":.?") if heading else ""


def _is_list_item(sentence: Sentence) -> bool:
    p = sentence.passage
    offset = sentence.start - p.start
    line_start = p.text.rfind("\n", 0, offset) + 1
    return bool(_LIST_ITEM.fullmatch(p.text[line_start:offset]))


def _opens_section(siblings: list[Sentence], index: int) -> bool:
    """A short first line under a heading ("Fine-tuning to teach the model new facts." under "Common
    pitfall") names what the section explains next; a short sentence further on stands on its own."""
    sentence = siblings[index]
    first = index == 0 or siblings[index - 1].heading != sentence.heading
    return first and not _is_list_item(sentence) and len(sentence.text.split()) < FRAGMENT_WORDS


def _same_block(first: Sentence, second: Sentence, gap: int = 1) -> bool:
    """Both under the same heading, with at most `gap` line breaks between them (same paragraph or list)."""
    if first.heading != second.heading or first.passage.chunk_id != second.passage.chunk_id:
        return False
    p = first.passage
    between = p.text[first.end - p.start : second.start - p.start]
    return between.count("\n") <= gap and "#" not in between


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:] if len(text) > 1 and text[0].isupper() and not text[1].isupper() else text


def answer_units(question: str, ranked: list[Sentence]) -> list[AnswerUnit]:
    """Units around the ranked sentences, best first, keeping only those that can answer: body text that
    says more than the question. Each sentence appears in at most one unit (the best-ranked one's)."""
    siblings = _by_passage(ranked)
    units: list[AnswerUnit] = []
    used: set[tuple[str, int]] = set()
    for sentence in ranked:
        key = (sentence.passage.chunk_id, sentence.start)
        if key in used:
            continue
        unit = unit_for(sentence, siblings[sentence.passage.chunk_id])
        if not unit.answers(question) or any((p.passage.chunk_id, p.start) in used for p in unit.parts):
            continue
        used.update((p.passage.chunk_id, p.start) for p in unit.parts)
        units.append(unit)
    return units


def answering(question: str, sentences: list[Sentence]) -> list[int]:
    """Indexes of the sentences that can answer `question`: body text whose unit says more than the question.

    The gate judges only these, so an objective that restates the question ("Explain what fine-tuning is good
    for") cannot make a question look answered."""
    siblings = _by_passage(sentences)
    keep = []
    for i, sentence in enumerate(sentences):
        if unit_for(sentence, siblings[sentence.passage.chunk_id]).answers(question):
            keep.append(i)
    return keep


def _by_passage(sentences: list[Sentence]) -> dict[str, list[Sentence]]:
    """Every sentence of each passage the given ones come from, in text order: a unit reaches for the
    neighbours of its core sentence whether or not they were candidates themselves."""
    passages = {s.passage.chunk_id: s.passage for s in sentences}
    return {chunk_id: split_sentences(passage) for chunk_id, passage in passages.items()}
