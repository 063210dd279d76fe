"""One ask does each piece of work once: the question is embedded once, the lesson fetched once, the
evidence analysed once — on the library path and on the HTTP API's JSON and streamed paths."""

import pytest

from tutor.generate.extractive import ExtractiveBackend
from tutor.ground.gate import AnswerabilityGate
from tutor.ground.support import SupportScorer
from tutor.ingest.index import passage_sentences
from tutor.pipeline import Tutor
from tutor.retrieve.hybrid import HybridRetriever
from tutor.settings import Settings
from tutor.store.chroma import open_store

LESSON = "when-to-fine-tune-vs-when-to-just-prompt-a-decision"


class Counting:
    """Wraps a method and counts its calls."""

    def __init__(self, method) -> None:
        self.method = method
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.method(*args, **kwargs)


def build_tutor(tmp_path, seed_corpus, fake_embedder, **overrides) -> Tutor:
    settings = Settings.from_env(env={}, home=tmp_path / "home", corpus=(seed_corpus,), **overrides)
    store = open_store(settings, embedder=fake_embedder)
    gate = AnswerabilityGate(fake_embedder)
    tutor = Tutor(
        store,
        HybridRetriever(store, settings.top_k),
        gate.scorer,
        gate,
        ExtractiveBackend(),
        SupportScorer(fake_embedder),
        settings,
    )
    tutor.ingest()
    return tutor


@pytest.fixture
def counted(tmp_path, seed_corpus, fake_embedder):
    tutor = build_tutor(tmp_path, seed_corpus, fake_embedder)
    store, gate = tutor.store, tutor.gate
    store.lesson = Counting(store.lesson)
    gate.scorer.analyse = Counting(gate.scorer.analyse)
    fake_embedder.embedded.clear()
    return tutor


def work_done(tutor: Tutor, embedder, question: str) -> tuple[int, int, int]:
    return embedder.embedded.count(question), tutor.store.lesson.calls, tutor.scorer.analyse.calls


@pytest.mark.parametrize("question", ["When should I fine-tune instead of prompting?", "What is the capital of Peru?"])
def test_ask_and_stream_do_each_piece_of_work_once(counted, fake_embedder, question):
    answer = counted.ask(question, lesson_id=LESSON)
    assert answer.refused or answer.citations
    assert work_done(counted, fake_embedder, question) == (1, 1, 1)
    streamed = f"{question} Please."
    pieces = list(counted.stream(streamed, lesson_id=LESSON))
    assert pieces[-1].question == streamed
    assert work_done(counted, fake_embedder, streamed) == (1, 2, 2)


def test_the_http_api_fetches_the_lesson_once_per_ask(counted, fake_embedder, tmp_path):
    from fastapi.testclient import TestClient

    from tutor.serve.api import create_api
    from tutor.serve.feedback import FeedbackStore

    api = create_api(counted, FeedbackStore(tmp_path / "fb.sqlite3"), None)
    with TestClient(api) as client:
        question = "When should I fine-tune instead of prompting?"
        assert client.post("/api/ask", json={"question": question, "lesson_id": LESSON}).status_code == 200
        assert work_done(counted, fake_embedder, question) == (1, 1, 1)
        other = "Is prompting the right first move?"
        response = client.post(
            "/api/ask", json={"question": other, "lesson_id": LESSON}, headers={"Accept": "text/event-stream"}
        )
        assert response.status_code == 200 and "event: answer" in response.text
        assert work_done(counted, fake_embedder, other) == (1, 2, 2)
        missing = client.post("/api/ask", json={"question": question, "lesson_id": "no-such-lesson"})
        assert missing.status_code == 404 and "no-such-lesson" in missing.json()["detail"]


def test_an_ask_embeds_the_question_only_the_sentences_come_from_the_index(counted, fake_embedder):
    # the sentence vectors were made at ingest; a fresh cache proves the ask reads them from Chroma
    counted.scorer.cache._vectors.clear()
    question = "When should I fine-tune instead of prompting?"
    counted.ask(question, lesson_id=LESSON)
    assert fake_embedder.embedded == [question]


def test_re_ingesting_a_lesson_replaces_its_stored_sentences(counted, seed_corpus):
    store = counted.store
    chunk_ids = [p.chunk_id for p in store.passages({"lesson_id": LESSON})]
    before = store.sentence_vectors(chunk_ids)
    assert before and all(len(v) == len(next(iter(before.values()))) for v in before.values())
    path = next(p for p in seed_corpus.iterdir() if p.stem == LESSON)
    extra = "\n\nA new closing sentence about evaluation.\n"
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    counted.ingest()
    after = store.sentence_vectors([p.chunk_id for p in store.passages({"lesson_id": LESSON})])
    assert any(text.endswith("A new closing sentence about evaluation.") for text in after)
    assert len(store.sentence_rows.get(where={"lesson_id": LESSON})["ids"]) >= len(after)  # no stale rows kept
    store.delete_lesson(LESSON)
    assert not store.sentence_rows.get(where={"lesson_id": LESSON})["ids"]


def test_sentence_vectors_on_first_ask_are_embedded_once_then_kept(tmp_path, seed_corpus, fake_embedder):
    """`sentence_vectors = "ask"`: ingest embeds chunks only; the first ask embeds and stores what it read."""
    tutor = build_tutor(tmp_path, seed_corpus, fake_embedder, sentence_vectors="ask")
    store = tutor.store
    assert not store.sentence_rows.get()["ids"]
    question = "When should I fine-tune instead of prompting?"
    first = tutor.ask(question, lesson_id=LESSON)
    kept = store.sentence_rows.get(include=["documents"])
    assert kept["ids"] and len(kept["ids"]) == len(set(kept["documents"]))
    tutor.scorer.cache._vectors.clear()
    fake_embedder.embedded.clear()
    second = tutor.ask(question, lesson_id=LESSON)
    assert fake_embedder.embedded == [question]  # the sentences now come from the index
    assert second.answer == first.answer and second.refused == first.refused


def test_opening_a_lesson_embeds_its_sentences_before_the_first_ask(tmp_path, seed_corpus, fake_embedder):
    """`sentence_vectors = "ask"`: opening the lesson (the widget does) stores every sentence of it, one model
    call per passage, so its first ask embeds only the question; opening it again embeds nothing."""
    tutor = build_tutor(tmp_path, seed_corpus, fake_embedder, sentence_vectors="ask")
    passages = tutor.store.passages({"lesson_id": LESSON})
    fake_embedder.embedded.clear()
    calls = Counting(fake_embedder.embed_batch)
    fake_embedder.embed_batch = calls
    embedded = tutor.open_lesson(LESSON)
    assert embedded == len(tutor.store.sentence_rows.get(where={"lesson_id": LESSON})["ids"]) > 0
    assert calls.calls == sum(bool(passage_sentences(p)) for p in passages)  # never the whole lesson at once
    assert not tutor.store.sentence_rows.get(where={"lesson_id": {"$ne": LESSON}})["ids"]  # only that lesson
    assert tutor.open_lesson(LESSON) == 0
    fake_embedder.embedded.clear()
    question = "When should I fine-tune instead of prompting?"
    answer = tutor.ask(question, lesson_id=LESSON)
    assert fake_embedder.embedded == [question]
    assert answer.citations and not answer.refused


def test_opening_a_lesson_whose_sentences_came_with_ingest_embeds_nothing(counted, fake_embedder):
    fake_embedder.embedded.clear()
    assert counted.open_lesson(LESSON) == 0
    assert fake_embedder.embedded == []


def test_the_api_opens_a_lesson_once_and_says_what_it_did(tmp_path, seed_corpus, fake_embedder):
    from fastapi.testclient import TestClient

    from tutor.serve.api import create_api
    from tutor.serve.feedback import FeedbackStore

    tutor = build_tutor(tmp_path, seed_corpus, fake_embedder, sentence_vectors="ask")
    with TestClient(create_api(tutor, FeedbackStore(tmp_path / "fb.sqlite3"), None)) as client:
        first = client.post(f"/api/lessons/{LESSON}/open")
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["lesson_id"] == LESSON and body["sentences_embedded"] > 0 and body["seconds"] >= 0
        again = client.post(f"/api/lessons/{LESSON}/open").json()
        assert again == body  # the same preparation, not a second one
        missing = client.post("/api/lessons/no-such-lesson/open")
        assert missing.status_code == 404 and "no-such-lesson" in missing.json()["detail"]
