"""The one text toolkit: sentences with offsets, markers, and Markdown structure that every stage shares."""

from tutor.answer import Passage
from tutor.ground.evidence import split_sentences
from tutor.ingest.lessons import markdown_sections
from tutor.text import (
    code_spans,
    markdown_headings,
    marker_numbers,
    sentence_spans,
    sentences,
    strip_markers,
    terms,
)

FENCED = """# Lesson

Intro sentence about shells. It has two sentences.

~~~bash
# this is a comment, not a heading
echo "Run it. Then stop."
~~~

## Real section

Body text here explains things well.

````markdown
```
# still code: a shorter fence does not close a longer one
```
````

## Last section
"""


def test_sentence_spans_are_exact_offsets():
    text = '  First one. "Second" follows! Third?\n- a list item\n'
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ["First one.", '"Second" follows!', "Third?", "- a list item"]
    assert sentences("Version 2.0 is out. Really.") == ["Version 2.0 is out.", "Really."]


def test_markers():
    assert marker_numbers("RAG adds facts [1]. Tuning adds style [2, 3].") == [1, 2, 3]
    assert strip_markers("RAG adds facts [1]. Tuning [2,3].") == "RAG adds facts. Tuning."


def test_terms_drop_stopwords_and_fold_plurals():
    assert terms("What are the models' embeddings for?") == ["model", "embedding"]


def test_code_fences_of_both_kinds_and_lengths():
    spans = code_spans(FENCED)
    blocks = [FENCED[a:b] for a, b in spans]
    assert len(blocks) == 2
    assert blocks[0].startswith("~~~bash") and blocks[0].endswith("~~~")
    assert blocks[1].startswith("````markdown") and "shorter fence" in blocks[1] and blocks[1].endswith("````")
    unclosed = "```\nnever closed\n# not a heading"
    assert code_spans(unclosed) == [(0, len(unclosed))] and markdown_headings(unclosed) == []


def test_a_hash_line_inside_any_fence_is_never_a_heading():
    assert [title for _, title, _ in markdown_headings(FENCED)] == ["Lesson", "Real section", "Last section"]
    assert [s.title for s in markdown_sections(FENCED)] == ["Lesson", "Real section", "Last section"]


def test_ingest_and_grounding_agree_on_what_is_code():
    passage = Passage("l#0", "l", "Lesson", "C", "Lesson", FENCED, 0, len(FENCED))
    quoted = [s.text for s in split_sentences(passage)]
    assert "Body text here explains things well." in quoted
    assert not any("comment" in q or "Run it" in q or "shorter fence" in q for q in quoted)
