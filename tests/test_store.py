import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import HashingEmbedder, free_port, running

from tutor.errors import StoreUnavailableError
from tutor.ingest.index import ingest
from tutor.store.chroma import LessonStore, connect


def test_switching_models_uses_a_separate_collection(tmp_path, seed_corpus):
    client = connect(tmp_path / "home")
    small = LessonStore(client, HashingEmbedder("model-a", dimension=64))
    large = LessonStore(client, HashingEmbedder("model-b", dimension=96))
    assert small.chunk_collection_name != large.chunk_collection_name
    ingest(small, [seed_corpus])
    report = ingest(large, [seed_corpus])  # no "dimension 64 does not match 96"
    assert report.embedded > 0 and not report.errors
    assert len(large.search([1.0] + [0.0] * 95, 3)) == 3
    assert len(small.search([1.0] + [0.0] * 63, 3)) == 3


def test_an_int8_index_beside_an_fp32_one_is_separate_and_says_where_the_lessons_are(tmp_path, seed_corpus, caplog):
    client = connect(tmp_path / "home")
    fp32 = LessonStore(client, HashingEmbedder("model-a"))
    ingest(fp32, [seed_corpus])
    int8_embedder = HashingEmbedder("model-a")
    int8_embedder.precision = "int8"
    with caplog.at_level("WARNING", logger="tutor.store.chroma"):
        int8 = LessonStore(client, int8_embedder)
    assert int8.lesson_collection_name == fp32.lesson_collection_name + "-int8" and int8.lessons() == []
    assert fp32.lesson_collection_name in caplog.text and "tutor ingest" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="tutor.store.chroma"):
        LessonStore(client, HashingEmbedder("model-a"))  # lessons indexed for this model: nothing to say
    assert "no lessons are indexed" not in caplog.text


def test_search_is_cosine_and_scoped(tmp_path, seed_corpus):
    embedder = HashingEmbedder()
    store = LessonStore(connect(tmp_path / "home"), embedder)
    ingest(store, [seed_corpus])
    lesson_id = store.lessons()[0].id
    hits = store.search(embedder.embed_query("fine-tuning cost"), 5, {"lesson_id": lesson_id})
    assert hits and all(h.lesson_id == lesson_id for h in hits)
    assert all(-1.0 <= h.score <= 1.0 for h in hits)
    assert hits == sorted(hits, key=lambda h: -h.score)
    meta = store.chunks.metadata
    assert meta["hnsw:space"] == "cosine"


def test_langchain_vector_store_over_the_same_chunks(tmp_path, seed_corpus):
    store = LessonStore(connect(tmp_path / "home"), HashingEmbedder())
    ingest(store, [seed_corpus])
    docs = store.as_langchain().as_retriever(search_kwargs={"k": 2}).invoke("prompt engineering")
    assert len(docs) == 2 and docs[0].metadata["lesson_id"]


@contextmanager
def chroma_process(data: Path, port: int):
    """`chroma run` on 127.0.0.1:`port` over `data`, until the block ends."""
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "chroma"),
            "run",
            "--path",
            str(data),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    with running(proc, f"{url}/api/v2/heartbeat", 60):
        yield url


@pytest.fixture
def chroma_server(tmp_path):
    with chroma_process(tmp_path / "server-data", free_port()) as url:
        yield url


def test_against_a_real_chroma_server(chroma_server, seed_corpus, tmp_path):
    store = LessonStore(connect(tmp_path / "unused", chroma_server), HashingEmbedder())
    first = ingest(store, [seed_corpus])
    assert first.lessons == 4 and first.embedded > 0
    assert ingest(store, [seed_corpus]).embedded == 0
    assert {r.id for r in store.lessons()} == {p.stem for p in seed_corpus.glob("*.md")}
    assert not (tmp_path / "unused").exists()


def test_a_chroma_server_outage_is_reported_and_recovers_by_itself(tmp_path, seed_corpus):
    port, data = free_port(), tmp_path / "server-data"
    url = f"http://127.0.0.1:{port}"
    store = LessonStore(lambda: connect(tmp_path / "unused", url), HashingEmbedder(), server=url)  # down at start
    with pytest.raises(StoreUnavailableError, match="unreachable"):
        store.count()
    with chroma_process(data, port):
        assert ingest(store, [seed_corpus]).lessons == 4  # connected on first use, no restart
    with pytest.raises(StoreUnavailableError, match=f"lesson index at {url} is unreachable"):
        store.lessons()  # gone mid-run
    with chroma_process(data, port):
        assert store.count() == 4 and len(store.search([1.0] + [0.0] * 63, 3)) == 3


def test_lessons_replaced_together_keep_no_stale_rows_and_leave_others_alone(tmp_path, seed_corpus):
    """`replace_lessons` writes a group of lessons in a few calls; shrinking one lesson drops only its
    leftover chunks and sentences."""
    from tutor.ingest.chunking import chunk_lesson
    from tutor.ingest.index import chunk_sentences
    from tutor.ingest.lessons import find_lesson_files, load_lesson
    from tutor.store.chroma import IndexedLesson

    embedder = HashingEmbedder()
    store = LessonStore(connect(tmp_path / "home"), embedder)

    def indexed(path: Path, keep: int | None = None) -> IndexedLesson:
        lesson = load_lesson(path, seed_corpus)
        chunks = chunk_lesson(lesson, embedder.count_tokens, 48)[:keep]
        sentences = [(c.id, s) for c in chunks for s in chunk_sentences(c)]
        vectors = embedder.embed_batch([s for _, s in sentences])
        return IndexedLesson(
            lesson,
            chunks,
            embedder.embed_batch([c.text for c in chunks]),
            "h",
            str(path),
            [(chunk_id, text, v) for (chunk_id, text), v in zip(sentences, vectors, strict=True)],
        )

    first, second = sorted(find_lesson_files([seed_corpus]))[:2]
    full = [indexed(first), indexed(second)]
    assert len(full[0].chunks) > 1
    store.replace_lessons(full)
    second_ids = sorted(store.chunks.get(where={"lesson_id": full[1].lesson.id}, include=[])["ids"])
    assert second_ids == sorted(c.id for c in full[1].chunks)
    shrunk = indexed(first, keep=1)
    store.replace_lessons([shrunk, indexed(second)])
    assert store.chunks.get(where={"lesson_id": shrunk.lesson.id}, include=[])["ids"] == [shrunk.chunks[0].id]
    kept = store.sentence_rows.get(where={"lesson_id": shrunk.lesson.id}, include=["metadatas"])["metadatas"]
    assert kept and {m["chunk_id"] for m in kept} == {shrunk.chunks[0].id}
    assert sorted(store.chunks.get(where={"lesson_id": full[1].lesson.id}, include=[])["ids"]) == second_ids
    assert store.lesson(shrunk.lesson.id).chunks == 1
