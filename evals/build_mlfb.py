"""The ML-For-Beginners quiz suite (`mlfb.jsonl`): each quiz question whose right answer the lesson
states is kept, with the lesson sentences that support it as key facts; part of `evals/build_datasets.py`."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

from corpus.tools.import_mlfb import lesson_stem
from evals.build_datasets import (
    BuildError,
    Row,
    check_rows,
    contains_phrase,
    norm,
    read_jsonl,
    write_jsonl,
)

STOPWORDS = frozenset(
    """a about above after all also an and any are as at be been being both but by can could do does
    done each for from had has have how if in into is it its it's just may might more most much must no
    not of on one only or other our out over own same should so some such than that the their them then
    there these they this those through to too under up use used using very was we were what when where
    which while who why will with would you your yours""".split()
)
BOTH_RE = re.compile(r"^(both|all) (of )?(the )?(above|these)$")
CONTEXT_BEFORE = 3
QUESTION_START = re.compile(r"^(what|which|who|whom|whose|when|where|why|how|is|are|does|do|can)\b", re.I)
VERB_HINT = re.compile(r"\b(is|are|was|were|can|could|should|will|would|does|do|has|have|refers?|means?|uses?)\b")


def mlfb_lesson_id(file_name: str) -> str:
    """`lessons/L01__1-Introduction__1-intro-to-ML.md` -> `mlfb-01-intro-to-ml`: the importer's own rule, reused."""
    try:
        return lesson_stem(file_name)
    except ValueError as err:
        raise BuildError(str(err)) from err


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def content_words(text: str) -> list[str]:
    return [w for w in _words(text) if w not in STOPWORDS]


def lesson_sentences(text: str) -> list[str]:
    """Split Markdown lesson text into sentences (list items and table rows count as sentences)."""
    text = re.sub(r"\]\([^)]*\)", "]", text)  # drop link targets, keep link text
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    sentences: list[str] = []
    for line in text.splitlines():
        for part in re.split(r"(?<=[.!?])\s+(?=[^a-z])", line):
            if part.strip():
                sentences.append(part.strip())
    return sentences


def support(answer: str, lesson_norm: str, sentences: list[str], context: str = "") -> tuple[str, list[str]] | None:
    """How the lesson supports `answer`: ('verbatim', [answer]) or ('words', [phrases]); None if it does not.

    'words': every content word of the answer (plural-insensitive) occurs in one lesson sentence that also
    shares a content word with `context` (the quiz stem, when given) or has one within the CONTEXT_BEFORE
    sentences before it (a list item under its intro), so scattered common words elsewhere in
    the lesson do not count. The key facts are then the longest runs of the answer's own words found
    verbatim in that sentence (fragments under 3 characters dropped).
    """
    if contains_phrase(lesson_norm, answer):
        return "verbatim", [answer.strip()]
    wanted = {_stem(w) for w in content_words(answer)}
    if not wanted:
        return None
    about = {_stem(w) for w in content_words(context)} - wanted
    tokens = _words(answer)
    for pos, sentence in enumerate(sentences):
        if not wanted <= {_stem(w) for w in _words(sentence)}:
            continue
        nearby = {_stem(w) for near in sentences[max(0, pos - CONTEXT_BEFORE) : pos + 1] for w in _words(near)}
        if about and not about & nearby:
            continue
        sent_norm = norm(sentence)
        facts: list[str] = []
        i = 0
        while i < len(tokens):
            best = 0
            for j in range(len(tokens), i, -1):
                if contains_phrase(sent_norm, " ".join(tokens[i:j])):
                    best = j
                    break
            if best:
                run = tokens[i:best]
                if any(w not in STOPWORDS for w in run):
                    facts.append(" ".join(run))
                i = best
            else:
                word = tokens[i]
                if word not in STOPWORDS:  # matched only as a plural/singular variant: use the lesson's form
                    variant = next(w for w in _words(sentence) if _stem(w) == _stem(word))
                    facts.append(variant)
                i += 1
        facts = [f for f in dict.fromkeys(facts) if len(f) >= 3 and contains_phrase(lesson_norm, f)]
        if facts:
            return "words", facts
    return None


def mlfb_question(stem: str, options: list[str]) -> str:
    """Rewrite a quiz stem mechanically into a question that lists the options.

    Questions stay questions; True/False statements become "True or false: ...?"; a bare term
    ("Tokenization") becomes "Which of these best describes ..."; any other statement or stem ending in ':'
    becomes a fill-in-the-blank (a trailing "___" is added when the stem has none).
    """
    stem = re.sub(r"\s+", " ", stem).strip()
    quoted = [f"'{o.strip()}'" for o in options]
    choice = ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]
    if [o.lower() for o in options] == ["true", "false"]:
        return f"True or false: {stem.rstrip('.')}?"
    if stem.endswith("?"):
        return f"{stem} Is it {choice}?"
    if QUESTION_START.match(stem):
        return f"{stem}? Is it {choice}?"
    bare = stem.rstrip(":").strip()
    if not stem.endswith(":") and len(bare.split()) <= 4 and not VERB_HINT.search(bare.lower()):
        return f"Which of these best describes {bare}: {choice}?"
    if "___" not in bare:
        bare += " ___"
    return f'Fill in the blank: "{bare}". Is it {choice}?'


def build_mlfb(shared: Path, out: Path) -> tuple[list[Row], Counter[str]]:
    src = shared / "corpora" / "ml-for-beginners"
    items = read_jsonl(src / "quizzes" / "questions.jsonl")
    lesson_cache: dict[str, tuple[str, list[str]]] = {}
    rows: list[Row] = []
    stats: Counter[str] = Counter()
    for item in items:
        stats["total"] += 1
        if item.get("flag"):
            stats["skipped: flagged"] += 1
            continue
        file_name = item["lesson_file"]
        if file_name not in lesson_cache:
            text = (src / file_name).read_text(encoding="utf-8")
            lesson_cache[file_name] = (norm(text), lesson_sentences(text))
        lesson_norm, sentences = lesson_cache[file_name]
        options, correct = item["options"], item["correct"][0]
        lower = [o.lower().strip() for o in options]

        facts: list[str] = []
        how: set[str] = set()
        if lower == ["true", "false"]:
            if correct.lower() != "true":
                stats["dropped: false statement (not checkable)"] += 1
                continue
            found = support(item["question"], lesson_norm, sentences)
            parts = [found] if found else []
            reference = f"True. {item['question'].strip().rstrip('.')}."
        elif BOTH_RE.match(correct.lower().strip()):
            others = [o for o in options if not BOTH_RE.match(o.lower().strip())]
            found_each = [support(o, lesson_norm, sentences, item["question"]) for o in others]
            parts = [f for f in found_each if f] if all(found_each) else []
            reference = f"{correct.strip()}: " + " and ".join(o.strip() for o in others)
        else:
            found = support(correct, lesson_norm, sentences, item["question"])
            parts = [found] if found else []
            reference = correct.strip()
        if not parts:
            stats["dropped: answer not in lesson"] += 1
            continue
        for kind, phrases in parts:
            how.add(kind)
            facts.extend(phrases)
        stats["kept: " + ("verbatim" if how == {"verbatim"} else "content words")] += 1
        lesson_id = mlfb_lesson_id(file_name)
        rows.append(
            {
                "id": f"mlfb-{item['qid']}",
                "question": mlfb_question(item["question"], options),
                "lesson_id": lesson_id,
                "answerable": True,
                "reference": reference,
                "key_facts": list(dict.fromkeys(facts)),
                "gold_lessons": [lesson_id],
                "category": item["quiz_kind"],
            }
        )
    texts = {mlfb_lesson_id(f): t[0] for f, t in lesson_cache.items()}
    check_rows(rows, "mlfb", texts)
    write_jsonl(out / "mlfb.jsonl", rows)
    shutil.copyfile(src / "LICENSE", out / "mlfb.LICENSE")
    return rows, stats
