from conftest import SEED_CORPUS, HashingEmbedder

from tutor.ingest.chunking import chunk_lesson
from tutor.ingest.lessons import load_lesson


def lesson_from(tmp_path, text):
    path = tmp_path / "l.md"
    path.write_text(text, encoding="utf-8")
    return load_lesson(path, tmp_path)


def test_chunk_text_is_exactly_the_lesson_span_and_fits_budget(tmp_path):
    embedder = HashingEmbedder(max_tokens=40)
    body = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(60))
    lesson = lesson_from(tmp_path, f"# Title\n\nIntro line.\n\n## Long part\n\n{body}\n\n## Short\n\nTiny.\n")
    chunks = chunk_lesson(lesson, embedder.count_tokens, 40)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text == lesson.text[chunk.start : chunk.end]
        assert embedder.count_tokens(chunk.text) <= 40
        assert chunk.text == chunk.text.strip()
    # Nothing is lost: every word of the lesson is in some chunk, in order.
    assert " ".join(c.text for c in chunks).split() == lesson.text.split()


def test_chunks_follow_headings_and_keep_metadata(tmp_path):
    lesson = lesson_from(
        tmp_path, "---\nid: l1\ncourse: C\n---\n# T\n\nIntro.\n\n## Alpha\n\nAlpha text.\n\n## Beta\n\nBeta text.\n"
    )
    chunks = chunk_lesson(lesson, HashingEmbedder().count_tokens, 200)
    sections = [c.section for c in chunks]
    assert "T > Alpha" in sections and "T > Beta" in sections
    alpha = chunks[sections.index("T > Alpha")]
    assert "Beta" not in alpha.text
    assert alpha.metadata["lesson_id"] == "l1" and alpha.metadata["course"] == "C"
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].id == "l1#0"


def test_small_subsections_merge_within_their_section(tmp_path):
    lesson = lesson_from(tmp_path, "# T\n\n## A\n\n### a1\n\nOne.\n\n### a2\n\nTwo.\n\n## B\n\nThree.\n")
    chunks = chunk_lesson(lesson, HashingEmbedder().count_tokens, 200)
    texts = [c.text for c in chunks]
    assert any("One." in t and "Two." in t for t in texts)
    assert not any("Two." in t and "Three." in t for t in texts)


def test_a_word_longer_than_the_budget_is_cut_not_truncated(tmp_path):
    lesson = lesson_from(tmp_path, "# T\n\n" + "x" * 500 + "\n")
    counter = lambda text: len(text) // 10 + 1  # noqa: E731 — a character-based counter
    chunks = chunk_lesson(lesson, counter, 20)
    joined = "".join(c.text for c in chunks)
    assert "".join(joined.split()) == "#T" + "x" * 500
    assert all(counter(c.text) <= 20 for c in chunks)


def test_real_tokenizer_budget_on_bundled_lessons(real_embedder):
    for path in sorted(SEED_CORPUS.glob("*.md")):
        lesson = load_lesson(path, SEED_CORPUS)
        for chunk in chunk_lesson(lesson, real_embedder.count_tokens, 200):
            assert chunk.text == lesson.text[chunk.start : chunk.end]
            assert real_embedder.count_tokens(chunk.text) <= 200 < real_embedder.max_tokens


def test_counting_spans_from_one_tokenization_cuts_the_same_chunks(real_embedder, tmp_path):
    """The lesson is tokenized once and each span counted from the offsets: same chunks as counting each
    span by itself, on the bundled lessons and on a long one with a word longer than the budget."""
    long = "# Long\n\n" + " ".join(f"Point {i}: gradient steps shrink the loss." for i in range(400))
    lessons = [load_lesson(p, SEED_CORPUS) for p in sorted(SEED_CORPUS.glob("*.md"))]
    lessons.append(lesson_from(tmp_path, long + "\n\n" + "https://example.org/" + "a1b2" * 400 + "\n"))
    assert real_embedder.token_offsets("two words") and real_embedder.special_tokens == 2
    for lesson in lessons:
        one_by_one = chunk_lesson(lesson, real_embedder.count_tokens, 200)
        from_offsets = chunk_lesson(
            lesson, real_embedder.count_tokens, 200, real_embedder.token_offsets, real_embedder.special_tokens
        )
        assert [(c.start, c.end) for c in from_offsets] == [(c.start, c.end) for c in one_by_one]
        assert all(real_embedder.count_tokens(c.text) <= 200 for c in from_offsets)
