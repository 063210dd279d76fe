"""The chat UI: pick a lesson, ask, watch the answer stream in, open its sources, rate it.

A thin adapter over `tutor`: every answer comes from `Tutor.stream`, starters from `StarterQuestions`,
ratings go to `FeedbackStore`, one row per answer (its `Answer.id`): changing 👍 to 👎 or adding a comment
updates that row. Nothing here decides what is an answer; it only shows it so that a grounded
answer, a refusal and a failure each look like what they are.

(No `from __future__ import annotations` here: Gradio reads the `chat` API's real type hints.)
"""

import html
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from tutor.answer import Answer
from tutor.errors import StoreUnavailableError, UnknownLessonError, public_error
from tutor.pipeline import Tutor
from tutor.serve.feedback import FeedbackStore
from tutor.serve.opening import LessonOpener
from tutor.serve.starters import StarterQuestions
from tutor.store.chroma import LessonRecord

log = logging.getLogger(__name__)

ALL_LESSONS = "__all__"
N_STARTERS = 3
HISTORY_TURNS = 10
CURSOR = " ▍"

# System fonts only: the stock themes pull web fonts, and this page must not call out to any CDN.
THEME = gr.themes.Soft(
    primary_hue="indigo",
    neutral_hue="slate",
    font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
)

CSS = """
.gradio-container { max-width: 860px !important; margin: 0 auto !important; }
#tutor-header { padding: 4px 2px 0; }
#tutor-header h2 { margin: 0 0 4px; font-size: 1.35rem; line-height: 1.3; }
#tutor-header p { margin: 0; opacity: .85; }
#starters-label p { margin: 0; font-size: .9rem; opacity: .8; }
#starters { gap: 8px; flex-wrap: wrap; }
#starters button { flex: 1 1 200px; white-space: normal; text-align: left; justify-content: flex-start;
  font-weight: 500; line-height: 1.3; }
.tutor-refusal { border-left: 4px solid #f59e0b; background: rgba(245, 158, 11, .10); padding: 8px 12px;
  border-radius: 8px; }
.tutor-refusal .tag { display: flex; align-items: center; gap: 6px; font-weight: 600; margin-bottom: 4px; }
.tutor-refusal .tag::before, .tutor-error::before { content: "i"; display: inline-flex; flex: none;
  align-items: center; justify-content: center; width: 1.25em; height: 1.25em; border-radius: 50%;
  background: #f59e0b; color: #fff; font: italic 700 .85em Georgia, serif; }
.tutor-error { display: flex; gap: 8px; align-items: baseline; border-left: 4px solid #94a3b8;
  background: rgba(148, 163, 184, .12); padding: 8px 12px; border-radius: 8px; }
.tutor-error::before { content: "!"; font-style: normal; background: #64748b; }
.tutor-sources { margin-top: 10px; border-top: 1px solid rgba(100, 116, 139, .25); padding-top: 6px; }
.tutor-sources summary { cursor: pointer; font-weight: 600; font-size: .92em; }
.tutor-sources ol { margin: 6px 0 0; padding-left: 1.2em; }
.tutor-sources li { margin: 0 0 8px; font-size: .92em; }
.tutor-sources .where { font-weight: 600; }
.tutor-sources .where { display: block; }
.tutor-sources blockquote { margin: 2px 0 0 !important; padding: 2px 0 2px 10px; border-left: 3px solid #a5b4fc;
  font-style: italic; }
#lesson input, #course input { text-overflow: ellipsis; }
#lesson .secondary-wrap, #course .secondary-wrap { padding-right: 6px; }
@media (max-width: 480px) {
  .gradio-container { padding: 6px !important; }
  #tutor-header h2 { font-size: 1.1rem; }
  #tutor-header p { font-size: .88rem; line-height: 1.35; }
  #chat { height: 42vh !important; min-height: 240px !important; }
}
"""

HEADER = (
    "## Curious about {topic}?\n"
    "Ask anything about {what}. I'll answer using just what you're reading — short, friendly, grounded."
)
PLACEHOLDER = (
    "**Ask me about this lesson.**<br>I only use what the lesson says, and I'll show you the passage "
    "each answer comes from."
)
REFUSAL_TAG = "Not in this lesson"
REFUSAL_TAG_ALL = "Not in these lessons"
UNKNOWN_LESSON = "I can't find that lesson any more — please pick a lesson from the list above."
COMMENT_LABEL = "Anything to add? (optional)"
COMMENT_PLACEHOLDER = "What was helpful, missing or wrong in that answer?"


# --- rendering (pure functions, easy to test) ----------------------------------------------------
def header_markdown(lesson: LessonRecord | None, course: str | None = None) -> str:
    """The greeting above the chat, naming what the learner is reading."""
    if lesson is not None:
        return HEADER.format(topic=lesson.title, what="this lesson")
    return HEADER.format(topic=course or "these lessons", what="these lessons")


def render_answer(answer: Answer) -> str:
    """An answer as chat Markdown: the text with citation marks, then its sources folded underneath."""
    if answer.refused:
        return render_refusal(answer.answer, REFUSAL_TAG if answer.lesson_id else REFUSAL_TAG_ALL)
    body = outside_code(answer.answer, lambda text: re.sub(r"\s*\[(\d+)\]", r"<sup>[\1]</sup>", escape(text)))
    if not answer.citations:
        return body
    items = []
    for c in answer.citations:
        title = c.title or c.lesson_id
        section = c.section.removeprefix(f"{title} > ") if c.section else ""
        if section == title:
            section = ""
        # Asked about one lesson, every source is that lesson: name the section only.
        parts = [section] if section and c.lesson_id == answer.lesson_id else [title, section]
        where = " · ".join(html.escape(part) for part in parts if part)
        items.append(
            f'<li><span class="where">[{c.n}] {where}</span>'
            f"<blockquote>“{html.escape(c.quote.strip())}”</blockquote></li>"
        )
    return (
        f'{body}\n\n<details class="tutor-sources"><summary>Sources ({len(answer.citations)})</summary>'
        f"<ol>{''.join(items)}</ol></details>"
    )


def render_refusal(text: str, tag: str = REFUSAL_TAG) -> str:
    """A refusal is an answer, not an error: a calm callout saying the lesson doesn't cover it."""
    return f'<div class="tutor-refusal"><span class="tag">{tag}</span>{html.escape(text, quote=False)}</div>'


def render_error(text: str) -> str:
    return f'<div class="tutor-error">{html.escape(text, quote=False)}</div>'


_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def outside_code(text: str, change: Callable[[str], str]) -> str:
    """`change` applied to the text between Markdown code spans; a code span is left as written, since
    Markdown already shows its content literally (`a < b`, `xs[0]`) and escaping it again would show `&lt;`."""
    out, at = [], 0
    for match in _CODE_SPAN.finditer(text):
        out += [change(text[at : match.start()]), match.group(0)]
        at = match.end()
    return "".join([*out, change(text[at:])])


def message_text(content: Any) -> str:
    """Plain text of a chat message, whatever shape Gradio hands back (str, dict, list of parts)."""
    if isinstance(content, str):
        text = content
    elif isinstance(content, dict):
        text = str(content.get("text") or content.get("content") or "")
    elif isinstance(content, list | tuple):
        text = " ".join(message_text(part) for part in content)
    else:
        text = ""
    if not _RENDERED.search(text):
        return text.strip()  # a learner's own words: "What does a <div> do?" stays as typed
    text = re.sub(r"<details.*?</details>", "", text, flags=re.DOTALL)
    text = re.sub(r"<span class=\"tag\">.*?</span>", "", text)
    return html.unescape(
        re.sub(r"</?(?:div|span|sup|details|summary|blockquote|ul|ol|li|p|br|b|em|strong)\b[^>]*>", "", text)
    ).strip()


# Markup this module renders into tutor messages (and nothing a learner would type).
_RENDERED = re.compile(r'<(?:div|span) class="tutor-|<sup>\[\d+\]</sup>|<details|<span class="tag">')


def _aligned(answer_ids: list | None, n: int) -> list[str | None]:
    """The answer ids kept beside the chat, one per message (None for the learner's own), trimmed or padded to
    the chat's `n` messages so a vote can never land on another answer's row."""
    ids = list(answer_ids or [])[:n]
    return ids + [None] * (n - len(ids))


def _scope(lesson_id: str | None, course: str | None) -> tuple[str | None, str | None]:
    """(lesson_id, course) for the tutor: a lesson wins; "All lessons" means the course (if any)."""
    if lesson_id and lesson_id != ALL_LESSONS:
        return lesson_id, None
    return None, course or None


# --- the app -------------------------------------------------------------------------------------
class TutorChat:
    """Event handlers bound to one tutor; `build_ui` wires them to components."""

    def __init__(
        self,
        tutor: Tutor,
        starters: StarterQuestions | None,
        feedback: FeedbackStore,
        opener: LessonOpener | None = None,
    ) -> None:
        self.tutor = tutor
        self.starters = starters
        self.feedback = feedback
        self.opener = opener

    # Lessons and courses ---------------------------------------------------------------------------
    def catalog(self) -> list[LessonRecord]:
        try:
            return self.tutor.lessons()
        except StoreUnavailableError as exc:  # the page still loads; asking says why there is no answer
            log.warning("%s", exc)
            return []

    def lesson_choices(self, course: str | None) -> list[tuple[str, str]]:
        rows = [r for r in self.catalog() if not course or r.course == course]
        label = "All lessons in this course" if course else "All lessons"
        return [(label, ALL_LESSONS)] + [(r.title, r.id) for r in rows]

    def course_choices(self) -> list[str]:
        return sorted({r.course for r in self.catalog()})

    def _lesson(self, lesson_id: str | None) -> LessonRecord | None:
        if not lesson_id or lesson_id == ALL_LESSONS:
            return None
        return next((r for r in self.catalog() if r.id == lesson_id), None)

    def on_load(self, request: gr.Request) -> tuple:
        """Open on `?lesson=ID` when given (else the first lesson): course, lesson, header, cleared chat."""
        lessons = self.catalog()
        wanted = (request.query_params.get("lesson") or "").strip() if request else ""
        chosen = next((r for r in lessons if r.id == wanted), None)
        if wanted and chosen is None:
            gr.Warning(f"There is no lesson “{wanted}” here, so I opened the first one instead.")
        chosen = chosen or (lessons[0] if lessons else None)
        course = chosen.course if chosen else None
        return (
            gr.Dropdown(choices=self.course_choices(), value=course),
            gr.Dropdown(choices=self.lesson_choices(course), value=chosen.id if chosen else ALL_LESSONS),
            header_markdown(chosen, course),
            *self.new_chat(),
        )

    def on_course(self, course: str | None) -> tuple:
        """A new course shows its lessons, starting on "All lessons in this course"."""
        return (
            gr.Dropdown(choices=self.lesson_choices(course), value=ALL_LESSONS),
            header_markdown(None, course),
            *self.new_chat(),
        )

    def on_lesson(self, lesson_id: str | None, course: str | None) -> tuple:
        """A new lesson is a new conversation: the greeting changes and the chat starts empty."""
        return header_markdown(self._lesson(lesson_id), course), *self.new_chat()

    def new_chat(self) -> tuple:
        """An empty conversation: (chat, tutor history, answer ids, last vote, comment box, comment). The vote
        and its comment box go too, so a comment is never stored on an answer no longer on screen."""
        return [], [], [], None, gr.Column(visible=False), ""

    def starter_buttons(self, lesson_id: str | None) -> list:
        """Verified starter questions as buttons (hidden while none are known)."""
        questions: list[str] = []
        if self.opener is not None and lesson_id and lesson_id != ALL_LESSONS:
            self.opener.start(lesson_id)  # prepared in the background, as the widget's lessons are
        if self.starters is not None and lesson_id and lesson_id != ALL_LESSONS:
            try:
                questions = self.starters.for_lesson(lesson_id, N_STARTERS)
            except Exception:
                log.exception("starter questions failed for %s", lesson_id)
        label = gr.Markdown(visible=bool(questions))
        buttons = [gr.Button(value=q, visible=True) for q in questions]
        buttons += [gr.Button(value="", visible=False)] * (N_STARTERS - len(questions))
        return [label, *buttons]

    # Asking ----------------------------------------------------------------------------------------
    def stream_markdown(
        self,
        message: str,
        lesson_id: str | None,
        course: str | None = None,
        history: list[dict[str, str]] | None = None,
    ) -> Iterator[tuple[str, Answer | None]]:
        """(markdown so far, final Answer or None): the streamed text, then the rendered answer."""
        lesson, course = _scope(lesson_id, course)
        text = ""
        try:
            for item in self.tutor.stream(message, lesson, history or None, course):
                if isinstance(item, Answer):
                    yield render_answer(item), item
                    return
                text += item
                yield outside_code(text.strip(), escape) + CURSOR, None
        except UnknownLessonError:
            yield render_error(UNKNOWN_LESSON), None
        except Exception as exc:
            log.exception("chat failed for %r (lesson %s)", message, lesson_id)
            yield render_error(public_error(exc)[1]), None

    def respond(
        self,
        message: str,
        lesson_id: str | None,
        course: str | None,
        messages: list | None,
        history: list | None,
        answer_ids: list | None = None,
    ) -> Iterator[tuple]:
        """The UI's chat handler: yields (chat messages, cleared textbox, tutor history, answer ids) as the
        answer grows. The ids sit beside the messages (the chat itself has nowhere to keep them) so that a
        vote names the answer it rates."""
        messages = list(messages or [])
        history = list(history or [])
        ids = _aligned(answer_ids, len(messages))
        message = (message or "").strip()
        if not message:
            yield messages, "", history, ids
            return
        messages += [{"role": "user", "content": message}, {"role": "assistant", "content": CURSOR.strip()}]
        ids += [None, None]
        yield messages, "", history, ids
        for markdown, answer in self.stream_markdown(message, lesson_id, course, history[-2 * HISTORY_TURNS :]):
            messages[-1] = {"role": "assistant", "content": markdown}
            if answer is not None:
                history += [{"role": "user", "content": message}, {"role": "assistant", "content": answer.answer}]
                ids[-1] = answer.id
            yield messages, "", history, ids

    def chat(self, message: str, lesson_id: str = "") -> str:
        """Ask the tutor one question and get its reply (the `/chat` API endpoint).

        Args:
            message: the learner's question (plain text).
            lesson_id: id of the lesson to answer from (see `GET /api/lessons`); "" answers from all lessons.

        Returns:
            The reply as Markdown/HTML, exactly as the chat shows it: the answer with `[n]` citation marks
            and a "Sources (n)" block quoting each cited passage with its lesson and section; a refusal
            starts with "Not in this lesson" (or "Not in these lessons"); a failure is a short apology.
            For structured JSON use `POST /api/ask`.
        """
        final = ""
        for markdown, _ in self.stream_markdown(message or "", lesson_id or None):
            final = markdown
        return final

    def on_like(
        self,
        messages: list | None,
        lesson_id: str | None,
        answer_ids: list | None,
        last_vote: dict | None,
        data: gr.LikeData,
    ) -> tuple:
        """Store 👍/👎 with the question that led to the rated answer, then offer the comment box.

        The vote is stored under the answer's id, so voting again on it (👍 then 👎) replaces the vote instead
        of adding one. A reply without an id (a failure, or one still streaming) gets one here, kept beside
        the chat, so its votes and comment also share a row. Returns (answer ids, this vote, comment box,
        comment); the vote is what "Send comment" stores the comment with."""
        liked = data.liked
        rating = "up" if liked is True or liked == "Like" else "down" if liked is False or liked == "Dislike" else ""
        index = data.index if isinstance(data.index, int) else data.index[0]
        if not rating:  # 👍 clicked again to take it back: the stored vote stays as it was
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        messages = list(messages or [])
        ids = _aligned(answer_ids, max(len(messages), index + 1))
        ids[index] = ids[index] or uuid.uuid4().hex
        question = next(
            (
                message_text(m.get("content"))
                for m in reversed(messages[:index])
                if isinstance(m, dict) and m.get("role") == "user"
            ),
            "",
        )
        lesson = None if lesson_id in (None, "", ALL_LESSONS) else lesson_id
        vote = {
            "question": question,
            "answer": message_text(data.value),
            "lesson_id": lesson,
            "rating": rating,
            "answer_id": ids[index],
        }
        try:
            self.feedback.add(vote["question"], vote["answer"], lesson, rating, answer_id=vote["answer_id"])
        except Exception:
            log.exception("could not store feedback")
            gr.Warning("Sorry, I couldn't save that feedback.")
            return ids, gr.skip(), gr.skip(), gr.skip()
        same_answer = bool(last_vote) and last_vote.get("answer_id") == vote["answer_id"]
        gr.Info("Vote changed." if same_answer else "Thanks for the feedback! Add a comment below if you like.")
        # A comment half-written for another answer would be stored on this one: start it afresh.
        return ids, vote, gr.Column(visible=True), gr.skip() if same_answer else ""

    def on_comment(self, comment: str | None, vote: dict | None) -> tuple:
        """Store the comment on the voted answer's row (with that vote's rating), then clear and hide the box.
        Returns (comment, comment box)."""
        comment = (comment or "").strip()
        if not vote:
            return "", gr.Column(visible=False)
        if not comment:
            gr.Warning("Write a comment first — your vote is already saved.")
            return gr.skip(), gr.skip()
        try:
            self.feedback.add(
                vote["question"], vote["answer"], vote["lesson_id"], vote["rating"], comment, vote["answer_id"]
            )
        except Exception:
            log.exception("could not store a feedback comment")
            gr.Warning("Sorry, I couldn't save that comment.")
            return gr.skip(), gr.skip()
        gr.Info("Thanks, your comment was saved.")
        return "", gr.Column(visible=False)


def build_ui(
    tutor: Tutor,
    starters: StarterQuestions | None,
    feedback: FeedbackStore,
    opener: LessonOpener | None = None,
) -> gr.Blocks:
    """The Blocks app. Theme and CSS are applied when mounting (`THEME`, `CSS`; see `ui.server`); with an
    `opener`, a lesson picked is prepared for its first question while the learner types it."""
    app = TutorChat(tutor, starters, feedback, opener)
    # Start on the first lesson so the page is usable before `on_load` (which honours ?lesson=) has run.
    first = next(iter(app.catalog()), None)
    first_course = first.course if first else None
    with gr.Blocks(title="Lesson tutor", fill_width=False) as demo:
        header = gr.Markdown(header_markdown(first, first_course), elem_id="tutor-header")
        with gr.Row(equal_height=True):
            course = gr.Dropdown(
                label="Course",
                choices=app.course_choices(),
                value=first_course,
                scale=1,
                min_width=150,
                elem_id="course",
            )
            lesson = gr.Dropdown(
                label="Lesson",
                choices=app.lesson_choices(first_course),
                value=first.id if first else ALL_LESSONS,
                scale=2,
                min_width=200,
                elem_id="lesson",
            )
        chatbot = gr.Chatbot(
            label="Tutor",
            show_label=False,
            elem_id="chat",
            height="56vh",
            min_height=300,
            placeholder=PLACEHOLDER,
            feedback_options=("Like", "Dislike"),
            buttons=["copy"],
            layout="bubble",
            sanitize_html=True,
            autoscroll=True,
        )
        # Shown once an answer is rated: an optional word on why, stored on that answer's row.
        with gr.Column(visible=False, variant="panel", elem_id="feedback-comment") as comment_box:
            comment = gr.Textbox(
                label=COMMENT_LABEL,
                placeholder=COMMENT_PLACEHOLDER,
                lines=2,
                max_lines=6,
                max_length=2000,
                elem_id="comment",
            )
            send_comment = gr.Button("Send comment", size="sm", variant="secondary", elem_id="send-comment")
        starters_label = gr.Markdown("Try asking:", visible=False, elem_id="starters-label")
        with gr.Row(elem_id="starters"):
            buttons = [
                gr.Button("", visible=False, size="sm", variant="secondary", min_width=160) for _ in range(N_STARTERS)
            ]
        with gr.Row(equal_height=True):
            textbox = gr.Textbox(
                placeholder="Ask about this lesson…",
                show_label=False,
                container=False,
                scale=5,
                max_length=2000,
                autofocus=True,
                submit_btn="Ask",
                elem_id="question",
            )
        clear = gr.Button("New conversation", size="sm", variant="secondary", elem_id="clear")
        history = gr.State([])
        answer_ids = gr.State([])  # the Answer.id of each chat message (None for the learner's)
        last_vote = gr.State(None)  # the latest vote, which a comment is stored with

        starter_outputs = [starters_label, *buttons]
        fresh = [chatbot, history, answer_ids, last_vote, comment_box, comment]
        chat_out = [chatbot, textbox, history, answer_ids]
        demo.load(app.on_load, inputs=None, outputs=[course, lesson, header, *fresh], api_visibility="private").then(
            app.starter_buttons, inputs=[lesson], outputs=starter_outputs, api_visibility="private"
        )
        course.input(app.on_course, inputs=[course], outputs=[lesson, header, *fresh], api_visibility="private").then(
            app.starter_buttons, inputs=[lesson], outputs=starter_outputs, api_visibility="private"
        )
        lesson.input(app.on_lesson, inputs=[lesson, course], outputs=[header, *fresh], api_visibility="private").then(
            app.starter_buttons, inputs=[lesson], outputs=starter_outputs, api_visibility="private"
        )
        textbox.submit(
            app.respond,
            inputs=[textbox, lesson, course, chatbot, history, answer_ids],
            outputs=chat_out,
            api_visibility="private",
        )
        for button in buttons:
            button.click(
                app.respond,
                inputs=[button, lesson, course, chatbot, history, answer_ids],
                outputs=chat_out,
                api_visibility="private",
            )
        clear.click(app.new_chat, inputs=None, outputs=fresh, api_visibility="private")
        chatbot.like(
            app.on_like,
            inputs=[chatbot, lesson, answer_ids, last_vote],
            outputs=[answer_ids, last_vote, comment_box, comment],
            api_visibility="private",
        )
        send_comment.click(
            app.on_comment, inputs=[comment, last_vote], outputs=[comment, comment_box], api_visibility="private"
        )
        gr.api(app.chat, api_name="chat")
    return demo
