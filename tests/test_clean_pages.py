"""The seed cleaner must strip site chrome, keep every lesson sentence, and merge renderings of a lesson."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from corpus.tools.clean_pages import to_markdown
from corpus.tools.lessonfile import slugify
from corpus.tools.page_lesson import CleanLesson, Section, normalize
from corpus.tools.page_merge import merge_renderings
from corpus.tools.page_structure import clean_page

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"

needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed pages not found at {SEEDS}")

CHROME = [
    "Progress saved locally",
    "Sign in to sync",
    "Lesson 990 of 2116",
    "Lesson map",
    "Learning path",
    "Concept cluster",
    "Key terms in this lesson",
    "Get new posts",
    "No spam",
    "Related lessons",
    "Keep going",
    "End-of-lesson",
    "questions ·",
    "Curious about",
    "Ask anything",
    "Series · Part",
    "16 of 21 published",
    "Abhishek Saha",
    "Back to AI / ML roadmap",
    "LLMs & GenAI",
    "Reviewed 2026",
    "Primary (free):",
    "Related guides",
    "Section 1",
]
QUIZ_OPTIONS = [
    "Use AI as the final authority for the whole decision",
    "Avoid checking the answer once it sounds polished",
    "Hide uncertainty so the final answer looks cleaner",
    "As something that becomes correct when it sounds confident",
]


def _page(name_prefix: str) -> str:
    return next(SEEDS.glob(f"{name_prefix}_*.txt")).read_text(encoding="utf-8")


def _all_lessons() -> list[CleanLesson]:
    lessons = []
    for path in sorted(SEEDS.glob("*.txt")):
        lesson = clean_page(path.read_text(encoding="utf-8"))
        lesson.sources = [path.name]
        lessons.append(lesson)
    return lessons


def _markdown(lesson: CleanLesson) -> str:
    return to_markdown(lesson, slugify(lesson.title), "Fine-tune vs prompt vs RAG", "; ".join(lesson.sources))


def _paragraphs(markdown: str) -> list[str]:
    """Body paragraphs and bullets (not headings or front matter), normalized."""
    body = markdown.split("\n---\n", 1)[1]
    return [normalize(ln) for ln in body.splitlines() if ln.strip() and not ln.startswith("#")]


@needs_seeds
def test_chrome_and_quiz_options_are_removed() -> None:
    lessons = merge_renderings(_all_lessons())
    text = "\n".join(_markdown(ls) for ls in lessons)
    for marker in CHROME + QUIZ_OPTIONS:
        assert marker not in text, marker
    assert "🤖" not in text
    assert "- 1" not in text and "- 2" not in text  # glued list numbers are stripped


@needs_seeds
def test_renderings_000_and_001_merge_into_one_lesson() -> None:
    lessons = merge_renderings(_all_lessons())
    assert len(lessons) == 4
    merged = [ls for ls in lessons if len(ls.sources) == 2]
    assert len(merged) == 1
    md = _markdown(merged[0])
    # Unique to 000 (the fuller rendering).
    assert "## Fine-Tuning Platforms Compared" in md
    assert "Substitute fine-tuning for missing factual knowledge" in md
    # Everything 001 says (after cleaning) is in the merged lesson.
    only_001 = clean_page(_page("001"))
    for block in only_001.blocks():
        assert normalize(block) in {normalize(b) for b in merged[0].blocks()}, block
    # No paragraph or bullet twice within a section, and no paragraph twice anywhere.
    paragraphs = [p for p in _paragraphs(md) if len(p.split()) >= 8]
    assert not [p for p, n in Counter(paragraphs).items() if n > 1]


@needs_seeds
def test_merge_adds_paragraphs_only_in_the_smaller_rendering() -> None:
    fuller = clean_page(_page("000"))
    smaller = clean_page(_page("001"))
    smaller.sections[0].body.append("An extra paragraph that only the short rendering has.")
    smaller.sections.append(Section("Only here", ["A section present in just one rendering."]))
    (merged,) = merge_renderings([smaller, fuller])
    md = to_markdown(merged, "x", "c", "s")
    assert md.count("An extra paragraph that only the short rendering has.") == 1
    assert "## Only here" in md or "### Only here" in md
    assert md.count("Fine-tuning is rarely the right first move") == 1


@needs_seeds
def test_section_headings_are_detected() -> None:
    by_title = {ls.title: ls for ls in merge_renderings(_all_lessons())}
    decision = by_title["When to Fine-Tune vs When to Just Prompt: A Decision Framework"]
    md = _markdown(decision)
    assert "## Fine-Tuning vs RAG vs Prompting: A Decision Framework\n\n### The premise" in md
    assert "### What AI does well here" in md and "### What AI cannot do" in md
    # "The premise" repeats per sub-topic with different bodies: all kept.
    assert md.count("The premise\n") == 7
    roadmap = _markdown(by_title["Fine-tuning vs prompting"])
    for heading in (
        "What is the fine-tuning vs prompting choice?",
        "Why it matters",
        "What to learn",
        "Common pitfall",
        "Practice",
        "Outcomes",
    ):
        assert f"## {heading}\n" in roadmap
    assert "## Resources" not in roadmap  # an empty stub
    assert "- The escalation ladder: prompt, then RAG, then fine-tune" in roadmap
    honest = _markdown(by_title["Fine-Tuning vs Prompting, Honestly"])
    assert "## How to read this" in honest and "## The phases" in honest
    series = _markdown(by_title["Fine-tuning vs. Prompting — When to Use Which"])
    assert "## Prompt Engineering\n\n- Changes: What you say to the model" in series
    assert "- Effort: Low" in series


@needs_seeds
def test_front_matter_round_trips() -> None:
    for lesson in merge_renderings(_all_lessons()):
        md = _markdown(lesson)
        assert md.startswith("---\n")
        meta = yaml.safe_load(md.split("---\n")[1])
        assert meta == {
            "id": slugify(lesson.title),
            "title": lesson.title,
            "course": "Fine-tune vs prompt vs RAG",
            "source": "; ".join(lesson.sources),
        }
        assert f"\n# {lesson.title}\n" in md
        assert len(meta["id"]) <= 60 and meta["id"].isascii()


def test_slugify() -> None:
    title = "Fine-tuning vs. Prompting — When to Use Which"
    assert slugify(title) == "fine-tuning-vs-prompting-when-to-use-which"
    assert slugify("Café: Ünïcode & more!") == "cafe-unicode-more"
    long = slugify("word " * 40)
    assert len(long) <= 60 and not long.endswith("-")


SYNTHETIC = """\
🎓
Data ScienceBeginner3h
Lesson 4 of 30
Ada Writer
Ada Writer
Cleaning Tabular Data
Messy columns break every model downstream. This lesson shows how to find and fix them.
12 min · Updated 2025
Lesson map
What this lesson covers
- 1Missing values
- 2Outliers
Section 1
Missing values
Most real datasets have gaps, and how you fill them changes your results.
Why it matters
• Dropping rows can bias the sample.
• Imputing with the mean hides variance.
Common pitfall
Filling every gap with zero because it is convenient.
Section 2
Outliers
Outliers are points far from the rest of the data.
Practice
Plot each numeric column and mark the points you would remove.
Knowledge check
3 questions · Score saves to your progress.
Which value should replace a missing age?
Always zero
The column median
Tutor
Curious about “Cleaning Tabular Data”?
Ask anything about this lesson.
Progress saved locally in this browser. Sign in to sync across devices.
Related lessons
Keep going
Builders · 9 min
Feature Scaling
"""


def test_synthetic_page_is_cleaned_generically() -> None:
    lesson = clean_page(SYNTHETIC)
    assert lesson.title == "Cleaning Tabular Data"
    assert lesson.summary.startswith("Messy columns break every model downstream.")
    headings = [(s.level, s.heading) for s in lesson.sections]
    assert headings == [
        (2, "Missing values"),
        (3, "Why it matters"),
        (3, "Common pitfall"),
        (2, "Outliers"),
        (3, "Practice"),
    ]
    assert lesson.sections[1].body == [
        "- Dropping rows can bias the sample.",
        "- Imputing with the mean hides variance.",
    ]
    md = to_markdown(lesson, "cleaning-tabular-data", "Data", "synthetic.txt")
    for chrome in (
        "Ada Writer",
        "Lesson 4 of 30",
        "Beginner3h",
        "12 min",
        "Lesson map",
        "1Missing",
        "Knowledge check",
        "Always zero",
        "The column median",
        "Curious about",
        "Progress saved",
        "Related lessons",
        "Feature Scaling",
        "🎓",
    ):
        assert chrome not in md, chrome
    assert "Plot each numeric column and mark the points you would remove." in md
    assert "Filling every gap with zero because it is convenient." in md


def test_page_without_section_labels_keeps_its_body() -> None:
    page = (
        "A Short Guide\nThis guide explains one idea in a few sentences for the reader.\n"
        "On this page\nThe idea\nThe idea is simple: measure before you optimize.\n"
        "Get new posts in your inbox\nNo spam. Unsubscribe anytime.\nDiscussion\n"
    )
    lesson = clean_page(page)
    md = to_markdown(lesson, "a-short-guide", "c", "s")
    assert "## The idea\n\nThe idea is simple: measure before you optimize." in md
    assert "On this page" not in md and "Get new posts" not in md and "Discussion" not in md


def test_identical_repeated_section_is_dropped_but_different_bodies_kept() -> None:
    page = (
        "Repeats\nA lesson whose page repeats a section verbatim, as some renderers do.\n"
        "Section 1\nThe premise\nFirst premise sentence here.\n"
        "Section 2\nThe premise\nFirst premise sentence here.\n"
        "Section 3\nThe premise\nA different premise sentence here.\n"
    )
    lesson = clean_page(page)
    assert [s.body for s in lesson.sections] == [
        ["First premise sentence here."],
        ["A different premise sentence here."],
    ]
