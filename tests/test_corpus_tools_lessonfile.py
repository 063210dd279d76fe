"""Every lesson writer must give a title the same id and write front matter the same way.

Evals refer to lessons by id, so an id rule that differs between the corpus tools and the dataset builder
silently points eval rows at lessons that do not exist. These tests pin the shared rule to the committed ids.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import evals.build_datasets as build_datasets
import evals.build_mlfb as build_mlfb
from corpus.tools import clean_pages, import_mlfb
from corpus.tools.lessonfile import MAX_ID_LEN, front_matter, slugify, split_front_matter

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS_SEEDS = REPO / "corpus" / "seeds"

EXPECTED_IDS = {
    # Committed seed lessons (corpus/seeds/*.md): the long title is cut at a word boundary.
    "When to Fine-Tune vs When to Just Prompt: A Decision Framework": (
        "when-to-fine-tune-vs-when-to-just-prompt-a-decision"
    ),
    "Fine-tuning vs prompting": "fine-tuning-vs-prompting",
    "Fine-Tuning vs Prompting, Honestly": "fine-tuning-vs-prompting-honestly",
    "Fine-tuning vs. Prompting — When to Use Which": "fine-tuning-vs-prompting-when-to-use-which",
    # SQuAD article titles (evals/datasets/squad2/lessons/<slug>-<idx>.md).
    "Sky_(United_Kingdom)": "sky-united-kingdom",
    "Fresno,_California": "fresno-california",
    "Intergovernmental_Panel_on_Climate_Change": "intergovernmental-panel-on-climate-change",
    "Super_Bowl_50": "super-bowl-50",
    # Upstream ML-For-Beginners folder names (corpus/ml-for-beginners/mlfb-NN-<slug>.md).
    "intro-to-ML": "intro-to-ml",
    "K-Means": "k-means",
    "QLearning": "qlearning",
    # Edge cases: accents folded, empty titles still name a file.
    "Café: Ünïcode & more!": "cafe-unicode-more",
    "!!!": "lesson",
}


@pytest.mark.parametrize(("title", "expected"), sorted(EXPECTED_IDS.items()))
def test_slugify_gives_the_committed_ids(title: str, expected: str) -> None:
    assert slugify(title) == expected


def test_slugify_cuts_long_titles_at_a_word_boundary() -> None:
    long = slugify("word " * 40)
    assert len(long) <= MAX_ID_LEN and not long.endswith("-") and set(long.split("-")) == {"word"}
    assert slugify("word " * 40, max_len=None) == "-".join(["word"] * 40)


def test_every_tool_uses_the_one_slug_and_front_matter() -> None:
    assert clean_pages.slugify is slugify
    assert build_datasets.slugify is slugify
    assert import_mlfb.slugify is slugify
    assert clean_pages.front_matter is front_matter
    assert build_datasets.front_matter is front_matter
    assert import_mlfb.front_matter is front_matter


def test_clean_pages_and_build_datasets_agree_on_a_titles_id(tmp_path: Path) -> None:
    """The file clean_pages writes for a title carries the id build_datasets derives from that title."""
    title = "When to Fine-Tune vs When to Just Prompt: A Decision Framework"
    page = tmp_path / "000_page.txt"
    page.write_text(f"{title}\nA lesson summary sentence that is long enough to mark the line above as the title.\n")
    (written,) = clean_pages.convert([page], tmp_path / "out", "Course")
    meta, _ = split_front_matter(written.read_text(encoding="utf-8"))
    assert meta["id"] == written.stem == slugify(title)
    assert build_datasets.SEED_TITLES["000"] == title
    # seed_lessons' fallback (no corpus/seeds yet) names lessons by the same rule.
    assert {build_datasets.slugify(t) for t in build_datasets.SEED_TITLES.values()} >= {meta["id"]}


@pytest.mark.skipif(not (SHARED / "seeds").is_dir() or not CORPUS_SEEDS.is_dir(), reason="seed pages not found")
def test_build_datasets_fallback_ids_match_the_committed_seed_lessons() -> None:
    """Without corpus/seeds, build_datasets slugs page titles; those ids must be the ones clean_pages wrote."""
    fallback, _, source = build_datasets.seed_lessons(SHARED, Path("/nonexistent/corpus/seeds"))
    from_corpus, _, _ = build_datasets.seed_lessons(SHARED, CORPUS_SEEDS)
    assert "FALLBACK" in source
    assert fallback == from_corpus
    assert set(fallback.values()) == {p.stem for p in CORPUS_SEEDS.glob("*.md")}


def test_mlfb_ids_are_the_same_in_the_importer_and_the_dataset_builder() -> None:
    name = "lessons/L01__1-Introduction__1-intro-to-ML.md"
    assert import_mlfb.lesson_stem(name) == build_mlfb.mlfb_lesson_id(name) == "mlfb-01-intro-to-ml"
    assert build_mlfb.mlfb_lesson_id("lessons/L15__5-Clustering__2-K-Means.md") == "mlfb-15-k-means"
    with pytest.raises(build_datasets.BuildError):
        build_mlfb.mlfb_lesson_id("lessons/README.md")


TRICKY = {
    "lesson_id": "squad2-sky-united-kingdom-3",
    "title": 'Colons: "quotes", # hashes, émoji 🎓 and a trailing space ',
    "course": "ML for Beginners",
    "source": "1-Introduction/1-intro-to-ML/README.md; 001_c1d9b737af9c5b45.txt",
}


def test_front_matter_round_trips_through_yaml() -> None:
    text = front_matter(**TRICKY)
    assert text.startswith("---\n") and text.endswith("\n---\n")
    assert [line.split(":", 1)[0] for line in text.splitlines()[1:-1]] == ["id", "title", "course", "source"]
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta == {
        "id": TRICKY["lesson_id"],
        "title": TRICKY["title"],
        "course": TRICKY["course"],
        "source": TRICKY["source"],
    }


def test_front_matter_round_trips_through_split_front_matter() -> None:
    body = "# Heading\n\nText.\n"
    meta, rest = split_front_matter(front_matter(**TRICKY) + body)
    assert meta == {
        "id": TRICKY["lesson_id"],
        "title": TRICKY["title"],
        "course": TRICKY["course"],
        "source": TRICKY["source"],
    }
    assert rest == body
    assert split_front_matter(body) == ({}, body)


def test_front_matter_values_are_json_strings() -> None:
    """JSON string syntax is what the committed files use; changing the quoting would rewrite every lesson."""
    text = front_matter("a", "b: c", "d", "e")
    assert 'title: "b: c"' in text
    assert all(json.loads(line.split(": ", 1)[1]) for line in text.splitlines()[1:-1])


@pytest.mark.skipif(not CORPUS_SEEDS.is_dir(), reason="corpus/seeds not found")
def test_committed_lessons_start_with_the_shared_front_matter() -> None:
    """Each committed lesson file's first lines are exactly what `front_matter` writes for its own fields."""
    files = sorted(CORPUS_SEEDS.glob("*.md")) + sorted((REPO / "corpus" / "ml-for-beginners").glob("mlfb-*.md"))
    squad = REPO / "evals" / "datasets" / "squad2" / "lessons"
    files += sorted(squad.glob("*.md"))[:20]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        meta, _ = split_front_matter(text)
        assert meta["id"] == (path.stem if path.parent != squad else f"squad2-{path.stem}")
        head = front_matter(meta["id"], meta["title"], meta["course"], meta["source"])
        assert text.startswith(head), path
