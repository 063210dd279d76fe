"""The chat UI's rendering, called directly: no server, no browser, no model.

What the learner sees is built by a few pure functions in `ui.gradio_app` that turn an `Answer` into chat
Markdown/HTML. These tests parse what they return (stdlib `HTMLParser`) and check its structure: nothing from
an answer, a quote or an error ever becomes a live tag, every `[n]` in the text has a source entry quoting
its passage and naming where it is, and a refusal and a failure each look like what they are.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import gradio as gr
import pytest

from tutor.answer import Answer, Citation, Passage
from tutor.errors import FRIENDLY_FAILURE, UnknownLessonError
from tutor.serve.feedback import FeedbackStore
from tutor.store.chroma import LessonRecord
from ui.gradio_app import (
    ALL_LESSONS,
    CURSOR,
    N_STARTERS,
    REFUSAL_TAG,
    REFUSAL_TAG_ALL,
    UNKNOWN_LESSON,
    TutorChat,
    _scope,
    header_markdown,
    message_text,
    render_answer,
    render_error,
    render_refusal,
)

# The only tags the renderer itself writes; anything else in its output came from content.
RENDERER_TAGS = {"sup", "details", "summary", "ol", "li", "span", "blockquote", "div"}

PAYLOADS = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "</blockquote></li></ol></details><script>alert(2)</script>",
    '"><svg onload=alert(3)>',
]


# --- helpers ---------------------------------------------------------------------------------------
class Parsed(HTMLParser):
    """Start tags (with attributes) and the text of each element, as a browser's HTML parser sees them."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.text_in: dict[str, list[str]] = {}
        self.all_text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.all_text.append(data)
        for tag in set(self.stack):
            self.text_in.setdefault(tag, []).append(data)

    @property
    def tag_names(self) -> set[str]:
        return {tag for tag, _ in self.tags}

    @property
    def text(self) -> str:
        return "".join(self.all_text)

    def classes(self) -> set[str]:
        return {c for _, attrs in self.tags for c in (attrs.get("class") or "").split()}


class SourceItems(HTMLParser):
    """Each `<li>` of the sources list: the text of its `.where` label and of its blockquote."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[dict[str, str]] = []
        self.field: str | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li":
            self.items.append({"where": "", "quote": ""})
        elif tag == "span" and "where" in (dict(attrs).get("class") or "").split():
            self.field = "where"
        elif tag == "blockquote":
            self.field = "quote"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("span", "blockquote"):
            self.field = None

    def handle_data(self, data: str) -> None:
        if self.field and self.items:
            self.items[-1][self.field] += data


def assert_no_live_markup(markup: str) -> Parsed:
    """Only the renderer's own tags, each with nothing but a class: no script, no handler, no link."""
    parsed = Parsed(markup)
    assert parsed.tag_names <= RENDERER_TAGS, f"content became live HTML: {parsed.tag_names - RENDERER_TAGS}"
    for tag, attrs in parsed.tags:
        assert set(attrs) <= {"class"}, f"<{tag}> carries attributes {attrs}"
    return parsed


def body_of(markup: str) -> str:
    """The answer part of a rendered answer (everything before the sources block)."""
    return markup.split("<details", 1)[0]


def cite(
    n: int,
    quote: str = "A quoted sentence.",
    *,
    lesson_id: str = "lesson-a",
    title: str = "Lesson A",
    section: str = "Lesson A > Basics",
) -> Citation:
    return Citation(
        n=n,
        lesson_id=lesson_id,
        chunk_id=f"{lesson_id}#{n}",
        section=section,
        quote=quote,
        start=10 * n,
        end=10 * n + len(quote),
        title=title,
    )


def grounded(text: str, citations: list[Citation], lesson_id: str | None = "lesson-a", **kw) -> Answer:
    return Answer(answer=text, refused=False, citations=citations, lesson_id=lesson_id, **kw)


def record(lesson_id: str = "lesson-a", title: str = "Lesson A", course: str = "Course 1") -> LessonRecord:
    return LessonRecord(
        id=lesson_id, title=title, course=course, chunks=3, index_hash="h", path=f"{lesson_id}.md", source="test"
    )


# --- escaping ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("payload", PAYLOADS)
def test_answer_text_html_never_becomes_live_markup(payload: str) -> None:
    out = render_answer(grounded(f"Before {payload} after [1].", [cite(1)]))
    parsed = assert_no_live_markup(out)
    # ... and the learner still sees exactly what the answer said, as text.
    assert f"Before {payload} after" in parsed.text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_quote_section_and_title_html_never_become_live_markup(payload: str) -> None:
    citation = cite(
        1,
        quote=f"Quote {payload} end.",
        lesson_id="other",
        title=f"Title {payload}",
        section=f"Title {payload} > Part {payload}",
    )
    out = render_answer(grounded("An answer [1].", [citation], lesson_id=None))
    assert_no_live_markup(out)
    [item] = SourceItems(out).items
    assert f"Quote {payload} end." in item["quote"]
    assert f"Title {payload}" in item["where"] and f"Part {payload}" in item["where"]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("render", [render_refusal, render_error], ids=["refusal", "error"])
def test_refusal_and_error_text_never_become_live_markup(render, payload: str) -> None:
    parsed = assert_no_live_markup(render(f"Sorry {payload} really."))
    assert f"Sorry {payload} really." in parsed.text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_refused_answer_text_is_escaped(payload: str) -> None:
    out = render_answer(Answer(answer=f"Not covered {payload}.", refused=True, lesson_id="lesson-a"))
    parsed = assert_no_live_markup(out)
    assert f"Not covered {payload}." in parsed.text


def test_text_that_merely_looks_like_an_entity_is_shown_verbatim() -> None:
    """`&amp;` in an answer is the five characters the lesson wrote, not a double-decoded `&`."""
    out = render_answer(grounded("Write &amp; or &lt;tag&gt; [1].", [cite(1, quote="Use &amp; here.")]))
    parsed = Parsed(out)
    assert "Write &amp; or &lt;tag&gt;" in parsed.text
    assert "Use &amp; here." in SourceItems(out).items[0]["quote"]


# --- citations and sources -------------------------------------------------------------------------
def test_every_marker_has_a_source_entry_with_its_quote() -> None:
    quotes = {
        1: "Fine-tuning changes the weights.",
        2: "Prompting changes only the input.",
        3: "Evaluate both on held-out data.",
    }
    text = "Fine-tune to change behaviour [1]. Prompt first [2], and measure [3]. Both can help [1]."
    out = render_answer(grounded(text, [cite(n, q, section=f"Lesson A > Part {n}") for n, q in quotes.items()]))

    markers = [int(n) for n in re.findall(r"<sup>\[(\d+)\]</sup>", body_of(out))]
    assert markers == [1, 2, 3, 1], "every [n] in the text is a superscript citation mark"
    assert not re.search(r"(?<!<sup>)\[\d+\]", body_of(out)), "no bare [n] left in the answer text"

    items = SourceItems(out).items
    assert len(items) == len(quotes)
    by_n = {int(re.match(r"\[(\d+)\]", item["where"].strip()).group(1)): item for item in items}
    assert set(by_n) == set(markers)
    for n, quote in quotes.items():
        assert quote in by_n[n]["quote"]
        assert f"Part {n}" in by_n[n]["where"]
    summary = Parsed(out).text_in["summary"]
    assert re.search(rf"\b{len(quotes)}\b", "".join(summary)), "the summary counts the sources"


def test_sources_are_folded_in_one_details_block_after_the_answer() -> None:
    out = render_answer(grounded("Answer [1].", [cite(1)]))
    parsed = Parsed(out)
    details = [attrs for tag, attrs in parsed.tags if tag == "details"]
    assert len(details) == 1 and "tutor-sources" in (details[0].get("class") or "").split()
    order = [tag for tag, _ in parsed.tags]
    assert order.index("sup") < order.index("details"), "the sources come after the answer"
    assert order[order.index("details") :][:3] == ["details", "summary", "ol"], "folded under a summary"


def test_one_lesson_answer_names_the_section_only() -> None:
    citation = cite(1, title="Lesson A", section="Lesson A > Costs > Compute", lesson_id="lesson-a")
    [item] = SourceItems(render_answer(grounded("A [1].", [citation], lesson_id="lesson-a"))).items
    assert "Costs > Compute" in item["where"]
    assert "Lesson A" not in item["where"], "the lesson's own title is not repeated when asked about that lesson"


def test_all_lessons_answer_names_lesson_and_section() -> None:
    citations = [
        cite(1, lesson_id="lesson-a", title="Lesson A", section="Lesson A > Costs"),
        cite(2, lesson_id="lesson-b", title="Lesson B", section="Lesson B > Risks"),
    ]
    items = SourceItems(render_answer(grounded("A [1] and B [2].", citations, lesson_id=None))).items
    assert "Lesson A" in items[0]["where"] and "Costs" in items[0]["where"]
    assert "Lesson B" in items[1]["where"] and "Risks" in items[1]["where"]
    # The "Title > " prefix is not shown twice.
    assert items[0]["where"].count("Lesson A") == 1 and items[1]["where"].count("Lesson B") == 1


def test_source_from_another_lesson_keeps_its_title_in_a_lesson_scoped_answer() -> None:
    citation = cite(1, lesson_id="lesson-b", title="Lesson B", section="Lesson B > Risks")
    [item] = SourceItems(render_answer(grounded("B [1].", [citation], lesson_id="lesson-a"))).items
    assert "Lesson B" in item["where"] and "Risks" in item["where"]


@pytest.mark.parametrize("section", ["", "Lesson A"])
def test_section_that_is_just_the_title_is_not_repeated(section: str) -> None:
    [item] = SourceItems(render_answer(grounded("A [1].", [cite(1, section=section)], lesson_id=None))).items
    assert re.sub(r"\s+", " ", item["where"]).strip() == "[1] Lesson A"


def test_untitled_citation_falls_back_to_lesson_id() -> None:
    citation = cite(1, lesson_id="lesson-x", title="", section="Intro")
    [item] = SourceItems(render_answer(grounded("X [1].", [citation], lesson_id=None))).items
    assert "lesson-x" in item["where"] and "Intro" in item["where"]


def test_quote_whitespace_is_trimmed_and_quote_is_marked_as_quotation() -> None:
    [item] = SourceItems(render_answer(grounded("A [1].", [cite(1, quote="  \n Padded quote. \n")]))).items
    inner = item["quote"]
    assert "Padded quote." in inner
    assert inner.strip() == inner and len(inner) == len("Padded quote.") + 2, "only the quotation marks around it"


def test_no_citations_means_no_sources_block() -> None:
    out = render_answer(grounded("A plain answer with no marks.", []))
    assert "<details" not in out and "tutor-sources" not in out and "Sources" not in out
    assert Parsed(out).text == "A plain answer with no marks."


def test_fallback_answer_still_shows_its_sources() -> None:
    quote = "The lesson says exactly this."
    passage = Passage(
        chunk_id="lesson-a#1",
        lesson_id="lesson-a",
        title="Lesson A",
        course="C",
        section="Basics",
        text=quote,
        start=0,
        end=len(quote),
    )
    answer = grounded(
        f"{quote} [1]",
        [cite(1, quote)],
        backend="llamacpp",
        fallback=True,
        fallback_reason="backend failed",
        passages=[passage],
    )
    out = render_answer(answer)
    assert "tutor-refusal" not in out
    assert "tutor-sources" in Parsed(out).classes()
    [item] = SourceItems(out).items
    assert quote in item["quote"] and "[1]" in item["where"]
    # The flag does not change what the learner sees.
    assert out == render_answer(grounded(f"{quote} [1]", [cite(1, quote)]))


def test_unicode_survives_in_answer_quote_and_section() -> None:
    text = "Ça marche — naïve café, 日本語, emoji 🙂, Ωmega [1]."
    quote = "„Zitat“ mit ß und ‘curly’ quotes — 中文 🚀"
    citation = cite(1, quote=quote, title="Leçon é", section="Leçon é > Überblick ✓", lesson_id="other")
    out = render_answer(grounded(text, [citation], lesson_id=None))
    assert "Ça marche — naïve café, 日本語, emoji 🙂, Ωmega" in out, "unicode kept as characters, not entities"
    [item] = SourceItems(out).items
    assert quote in item["quote"]
    assert "Leçon é" in item["where"] and "Überblick ✓" in item["where"]


# --- refusals and errors -------------------------------------------------------------------------------
def test_refusal_is_a_callout_not_an_answer() -> None:
    out = render_answer(
        Answer(answer="The lesson doesn't cover the capital of Australia.", refused=True, lesson_id="lesson-a")
    )
    parsed = Parsed(out)
    assert "tutor-refusal" in parsed.classes() and "tag" in parsed.classes()
    assert "tutor-sources" not in parsed.classes() and "tutor-error" not in parsed.classes()
    assert "sup" not in parsed.tag_names
    assert "capital of Australia" in parsed.text


def test_grounded_answer_is_not_styled_as_refusal_or_error() -> None:
    classes = Parsed(render_answer(grounded("Yes [1].", [cite(1)]))).classes()
    assert "tutor-refusal" not in classes and "tutor-error" not in classes


@pytest.mark.parametrize(("lesson_id", "tag"), [("lesson-a", REFUSAL_TAG), (None, REFUSAL_TAG_ALL)])
def test_refusal_tag_says_which_scope_it_searched(lesson_id: str | None, tag: str) -> None:
    out = render_answer(Answer(answer="Not covered.", refused=True, lesson_id=lesson_id))
    assert "".join(Parsed(out).text_in["span"]) == tag
    assert REFUSAL_TAG != REFUSAL_TAG_ALL


def test_refusal_never_shows_sources_even_if_it_has_citations() -> None:
    out = render_answer(
        Answer(answer="Not covered.", refused=True, citations=[cite(1, "Some quote.")], lesson_id="lesson-a")
    )
    assert "Some quote." not in out and "<details" not in out


def test_error_is_styled_apart_from_refusal() -> None:
    error, refusal = Parsed(render_error("Something broke.")), Parsed(render_refusal("Not covered."))
    assert "tutor-error" in error.classes() and "tutor-refusal" not in error.classes()
    assert "tutor-refusal" in refusal.classes() and "tutor-error" not in refusal.classes()
    assert error.text == "Something broke."


# --- message_text (what a rating stores) ------------------------------------------------------------
def test_message_text_of_rendered_answer_drops_sources_and_markup() -> None:
    answer = grounded("Paris is the capital [1]. It is big & old [2].", [cite(1, "QUOTE-ONE"), cite(2, "QUOTE-TWO")])
    text = message_text(render_answer(answer))
    assert "QUOTE-ONE" not in text and "QUOTE-TWO" not in text and "Sources" not in text
    assert "<" not in text and "&amp;" not in text
    assert "Paris is the capital" in text and "big & old" in text


def test_message_text_of_refusal_drops_the_tag() -> None:
    text = message_text(render_answer(Answer(answer="Not covered here.", refused=True, lesson_id="lesson-a")))
    assert text == "Not covered here."


def test_message_text_returns_escaped_markup_as_plain_text() -> None:
    text = message_text(render_answer(grounded("Tags like <b>bold</b> [1].", [cite(1)])))
    assert "<b>bold</b>" in text


@pytest.mark.parametrize(
    "content",
    [
        "hello world",
        {"text": "hello world"},
        {"content": "hello world"},
        [{"text": "hello"}, "world"],
        ("hello", {"type": "text", "text": "world"}),
    ],
)
def test_message_text_accepts_every_gradio_message_shape(content) -> None:
    assert message_text(content) == "hello world"


@pytest.mark.parametrize("content", [None, 42, {"file": "x.png"}])
def test_message_text_of_unknown_shapes_is_empty(content) -> None:
    assert message_text(content) == ""


# --- scope and header ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lesson_id", "course", "expected"),
    [
        ("lesson-a", "Course 1", ("lesson-a", None)),
        ("lesson-a", None, ("lesson-a", None)),
        (ALL_LESSONS, "Course 1", (None, "Course 1")),
        (ALL_LESSONS, None, (None, None)),
        ("", "Course 1", (None, "Course 1")),
        (None, "", (None, None)),
    ],
)
def test_scope_a_lesson_wins_all_lessons_means_the_course(lesson_id, course, expected) -> None:
    assert _scope(lesson_id, course) == expected


def test_header_names_the_lesson_or_the_course() -> None:
    assert "Lesson A" in header_markdown(record(title="Lesson A"), "Course 1")
    course_header = header_markdown(None, "Course 1")
    assert "Course 1" in course_header and "Lesson A" not in course_header
    assert "these lessons" in header_markdown(None, None)


# --- the chat handlers over a fake tutor -----------------------------------------------------------------
@dataclass
class FakeTutor:
    """Streams the given tokens then the answer (or raises `error`); records how it was asked."""

    tokens: list[str] = field(default_factory=list)
    answer: Answer | None = None
    error: Exception | None = None
    asked: list[tuple] = field(default_factory=list)
    catalog: list[LessonRecord] = field(default_factory=list)

    def stream(self, question, lesson_id, history, course):
        self.asked.append((question, lesson_id, history, course))
        yield from self.tokens
        if self.error is not None:
            raise self.error
        if self.answer is not None:
            yield self.answer

    def lessons(self) -> list[LessonRecord]:
        return self.catalog


def chat_over(tutor: FakeTutor, starters=None) -> TutorChat:
    return TutorChat(tutor, starters, feedback=None)  # type: ignore[arg-type]


def test_streamed_tokens_are_escaped_and_end_with_the_rendered_answer() -> None:
    final = grounded("Hello <script>x</script> [1].", [cite(1)])
    tutor = FakeTutor(tokens=["Hello ", "<scr", "ipt>x</script>", " [1]."], answer=final)
    steps = list(chat_over(tutor).stream_markdown("q?", "lesson-a"))

    *partials, (last, answer) = steps
    assert answer is final and last == render_answer(final)
    assert len(partials) == len(tutor.tokens)
    for markdown, done in partials:
        assert done is None and markdown.endswith(CURSOR)
        assert_no_live_markup(markdown.removesuffix(CURSOR))
    assert html.unescape(partials[-1][0].removesuffix(CURSOR)) == "Hello <script>x</script> [1]."


def test_stream_passes_the_scope_to_the_tutor() -> None:
    tutor = FakeTutor(answer=grounded("A.", []))
    app = chat_over(tutor)
    list(app.stream_markdown("q1", ALL_LESSONS, "Course 1"))
    list(app.stream_markdown("q2", "lesson-a", "Course 1", [{"role": "user", "content": "earlier"}]))
    assert tutor.asked[0] == ("q1", None, None, "Course 1")
    assert tutor.asked[1] == ("q2", "lesson-a", [{"role": "user", "content": "earlier"}], None)


def test_unknown_lesson_is_an_error_callout() -> None:
    steps = list(chat_over(FakeTutor(error=UnknownLessonError("no such lesson"))).stream_markdown("q", "gone"))
    markdown, answer = steps[-1]
    assert answer is None and markdown == render_error(UNKNOWN_LESSON)
    assert "tutor-error" in Parsed(markdown).classes()


def test_failure_shows_a_friendly_line_and_hides_the_details(caplog) -> None:
    secret = "Traceback: /home/secret/path <b>boom</b>"
    steps = list(chat_over(FakeTutor(tokens=["partial "], error=RuntimeError(secret))).stream_markdown("q", "a"))
    markdown, answer = steps[-1]
    assert answer is None
    assert "tutor-error" in Parsed(markdown).classes() and "tutor-refusal" not in markdown
    assert FRIENDLY_FAILURE in html.unescape(markdown)
    assert "secret" not in markdown and "boom" not in markdown
    assert secret in caplog.text, "the details go to the log"


def test_chat_api_returns_the_final_rendering() -> None:
    final = grounded("Answer [1].", [cite(1, "The quote.")])
    assert chat_over(FakeTutor(tokens=["Ans", "wer"], answer=final)).chat("q?", "lesson-a") == render_answer(final)
    refusal = Answer(answer="Not here.", refused=True, lesson_id=None)
    reply = chat_over(FakeTutor(answer=refusal)).chat("q?")
    assert reply.startswith('<div class="tutor-refusal">') and REFUSAL_TAG_ALL in reply


def test_respond_shows_markdown_but_remembers_plain_answer_text() -> None:
    final = grounded("Plain <answer> [1].", [cite(1, "QUOTE")])
    steps = list(chat_over(FakeTutor(tokens=["Plain"], answer=final)).respond("  Why?  ", "lesson-a", None, [], []))
    messages, textbox, history, ids = steps[-1]
    assert textbox == ""
    assert messages[0] == {"role": "user", "content": "Why?"}
    assert messages[-1] == {"role": "assistant", "content": render_answer(final)}
    assert history == [{"role": "user", "content": "Why?"}, {"role": "assistant", "content": "Plain <answer> [1]."}]
    assert ids == [None, final.id], "each answer's id sits beside its message, for feedback"


def test_respond_keeps_earlier_answer_ids_aligned_with_the_messages() -> None:
    final = grounded("Second.", [])
    earlier = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "First."}]
    app = chat_over(FakeTutor(answer=final))
    *_, ids = list(app.respond("q2", "lesson-a", None, earlier, [], [None, "first-id"]))[-1]
    assert ids == [None, "first-id", None, final.id]
    *_, ids = list(app.respond("q2", "lesson-a", None, earlier, [], None))[-1]  # ids lost: padded, not shifted
    assert ids == [None, None, None, final.id]


def test_respond_ignores_a_blank_message() -> None:
    tutor = FakeTutor(answer=grounded("A.", []))
    steps = list(chat_over(tutor).respond("   ", "lesson-a", None, [{"role": "user", "content": "x"}], []))
    assert steps == [([{"role": "user", "content": "x"}], "", [], [None])]
    assert tutor.asked == []


# --- feedback: one vote per answer, and a comment on the same row ---------------------------------------
def like(index: int, value: str, liked: bool | str) -> gr.LikeData:
    return gr.LikeData(None, {"index": index, "value": value, "liked": liked})


def voted_chat(tmp_path) -> tuple[TutorChat, list[dict], list[str | None], FeedbackStore]:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    app = TutorChat(FakeTutor(), None, store)  # type: ignore[arg-type]
    messages = [
        {"role": "user", "content": "What is LoRA?"},
        {"role": "assistant", "content": render_answer(grounded("LoRA trains adapters [1].", [cite(1)]))},
        {"role": "user", "content": "And QLoRA?"},
        {"role": "assistant", "content": render_answer(grounded("QLoRA quantises [1].", [cite(1)]))},
    ]
    return app, messages, [None, "answer-1", None, "answer-2"], store


def test_changing_a_vote_replaces_it(tmp_path) -> None:
    app, messages, ids, store = voted_chat(tmp_path)
    _, vote, box, _ = app.on_like(messages, "lesson-a", ids, None, like(1, messages[1]["content"], True))
    assert vote["rating"] == "up" and box.visible is True
    _, vote, _, comment = app.on_like(messages, "lesson-a", ids, vote, like(1, messages[1]["content"], "Dislike"))
    rows = store.rows()
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row["answer_id"], row["rating"], row["question"], row["lesson_id"]) == (
        "answer-1",
        "down",
        "What is LoRA?",
        "lesson-a",
    )
    assert row["answer"] == message_text(messages[1]["content"]) == "LoRA trains adapters[1]."
    assert vote == {
        "question": "What is LoRA?",
        "answer": row["answer"],
        "lesson_id": "lesson-a",
        "rating": "down",
        "answer_id": "answer-1",
    }
    assert comment == gr.skip(), "a comment being written for the same answer is kept"

    *_, comment = app.on_like(messages, ALL_LESSONS, ids, vote, like(3, messages[3]["content"], False))
    assert comment == "", "a comment half-written for another answer is not carried over"
    assert [(r["answer_id"], r["rating"], r["question"]) for r in store.rows()] == [
        ("answer-1", "down", "What is LoRA?"),
        ("answer-2", "down", "And QLoRA?"),
    ]


def test_taking_back_a_vote_changes_nothing(tmp_path) -> None:
    app, messages, ids, store = voted_chat(tmp_path)
    assert app.on_like(messages, "lesson-a", ids, None, like(1, "x", "")) == (gr.skip(),) * 4
    assert store.rows() == []


def test_a_comment_updates_the_voted_row_and_closes_the_box(tmp_path) -> None:
    app, messages, ids, store = voted_chat(tmp_path)
    app.on_like(messages, "lesson-a", ids, None, like(1, messages[1]["content"], True))
    _, vote, _, _ = app.on_like(messages, "lesson-a", ids, None, like(1, messages[1]["content"], False))
    text, box = app.on_comment("  It skipped the rank setting.  ", vote)
    assert (text, box.visible) == ("", False)
    (row,) = store.rows()
    assert (row["answer_id"], row["rating"], row["comment"]) == ("answer-1", "down", "It skipped the rank setting.")


def test_an_empty_comment_is_not_sent(tmp_path) -> None:
    app, messages, ids, store = voted_chat(tmp_path)
    _, vote, _, _ = app.on_like(messages, "lesson-a", ids, None, like(1, messages[1]["content"], True))
    with pytest.warns(UserWarning, match="Write a comment first"):
        assert app.on_comment("   ", vote) == (gr.skip(), gr.skip())
    assert store.rows()[0]["comment"] == ""


def test_a_reply_without_an_answer_id_gets_one_so_its_votes_share_a_row(tmp_path) -> None:
    app, messages, _, store = voted_chat(tmp_path)
    messages[3] = {"role": "assistant", "content": render_error("Sorry, that failed.")}
    ids, vote, _, _ = app.on_like(messages, "lesson-a", [None, "answer-1"], None, like(3, messages[3]["content"], True))
    assert ids[:2] == [None, "answer-1"] and ids[3] and vote["answer_id"] == ids[3]
    app.on_like(messages, "lesson-a", ids, vote, like(3, messages[3]["content"], False))
    app.on_comment("It just broke.", vote | {"rating": "down"})
    (row,) = store.rows()
    assert (row["answer_id"], row["rating"], row["comment"]) == (ids[3], "down", "It just broke.")


def test_new_chat_forgets_ids_vote_and_comment() -> None:
    chat, history, ids, vote, box, comment = chat_over(FakeTutor()).new_chat()
    assert (chat, history, ids, vote, comment) == ([], [], [], None, "") and box.visible is False


def test_lesson_and_course_choices() -> None:
    tutor = FakeTutor(catalog=[record("a", "A", "C1"), record("b", "B", "C2"), record("c", "C", "C1")])
    app = chat_over(tutor)
    assert app.course_choices() == ["C1", "C2"]
    choices = app.lesson_choices("C1")
    assert choices[0][1] == ALL_LESSONS and [v for _, v in choices[1:]] == ["a", "c"]
    assert [v for _, v in app.lesson_choices(None)] == [ALL_LESSONS, "a", "b", "c"]


class FailingStarters:
    def for_lesson(self, lesson_id: str, n: int) -> list[str]:
        raise RuntimeError("index gone")


class FixedStarters:
    def __init__(self, questions: list[str]) -> None:
        self.questions = questions
        self.asked: list[tuple[str, int]] = []

    def for_lesson(self, lesson_id: str, n: int) -> list[str]:
        self.asked.append((lesson_id, n))
        return self.questions[:n]


def test_starter_buttons_show_verified_questions_and_hide_the_rest() -> None:
    starters = FixedStarters(["What is chlorophyll?"])
    label, *buttons = chat_over(FakeTutor(), starters).starter_buttons("lesson-a")
    assert starters.asked == [("lesson-a", N_STARTERS)]
    assert label.visible is True and len(buttons) == N_STARTERS
    assert [(b.value, b.visible) for b in buttons] == [("What is chlorophyll?", True)] + [("", False)] * 2


class RecordingOpener:
    def __init__(self) -> None:
        self.opened: list[str] = []

    def start(self, lesson_id: str) -> None:
        self.opened.append(lesson_id)


def test_picking_a_lesson_starts_preparing_it_and_a_busy_opener_changes_nothing() -> None:
    from tutor.serve.opening import LessonOpener

    opener = RecordingOpener()
    chat = TutorChat(FakeTutor(), FixedStarters(["Q?"]), None, opener)  # type: ignore[arg-type]
    chat.starter_buttons("lesson-a")
    chat.starter_buttons(ALL_LESSONS)
    assert opener.opened == ["lesson-a"]
    full = LessonOpener(FakeTutor(), max_waiting=0)  # type: ignore[arg-type]  # every open is refused
    try:
        busy = TutorChat(FakeTutor(), FixedStarters(["Q?"]), None, full)  # type: ignore[arg-type]
        label, *buttons = busy.starter_buttons("lesson-a")
        assert label.visible is True and buttons[0].value == "Q?"
    finally:
        full.close()


@pytest.mark.parametrize(
    ("starters", "lesson_id"),
    [(FailingStarters(), "lesson-a"), (None, "lesson-a"), (FixedStarters(["Q?"]), ALL_LESSONS)],
)
def test_starter_buttons_hidden_when_none_are_known(starters, lesson_id) -> None:
    label, *buttons = chat_over(FakeTutor(), starters).starter_buttons(lesson_id)
    assert label.visible is False and len(buttons) == N_STARTERS
    assert not any(b.visible for b in buttons)


# --- code spans and angle brackets --------------------------------------------------------------------
def test_code_span_in_answer_is_not_double_escaped() -> None:
    body = body_of(render_answer(grounded("Compare with `a < b` [1].", [cite(1)])))
    assert "`a < b`" in body


def test_indexing_brackets_are_not_citation_marks() -> None:
    body = body_of(render_answer(grounded("Take `xs[0]` first [1].", [cite(1)])))
    assert re.findall(r"<sup>\[(\d+)\]</sup>", body) == ["1"]


def test_message_text_keeps_angle_brackets_in_a_plain_question() -> None:
    assert message_text("What does a <div> do? Is 3<5 and 6>4?") == "What does a <div> do? Is 3<5 and 6>4?"
