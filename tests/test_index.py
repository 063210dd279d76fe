import shutil

from conftest import HashingEmbedder

from tutor.ingest.index import ingest
from tutor.store.chroma import LessonStore, connect


def make_store(tmp_path, embedder=None):
    return LessonStore(connect(tmp_path / "home"), embedder or HashingEmbedder())


def test_second_run_embeds_nothing(tmp_path, seed_corpus):
    store = make_store(tmp_path)
    first = ingest(store, [seed_corpus])
    assert first.lessons == 4 and first.embedded == first.chunks > 0 and not first.errors
    second = ingest(store, [seed_corpus])
    assert second.embedded == 0 and second.unchanged == 4 and second.chunks == first.chunks


def test_unchanged_files_are_not_parsed_again(tmp_path, seed_corpus, monkeypatch):
    store = make_store(tmp_path)
    ingest(store, [seed_corpus])
    parsed = []
    monkeypatch.setattr("tutor.ingest.index.load_lesson", lambda path, *rest: parsed.append(path))
    report = ingest(store, [seed_corpus])
    assert report.unchanged == 4 and parsed == []


def test_index_survives_a_move_of_the_model_folder(tmp_path, seed_corpus):
    """The index hash names the model by its name and dimension, not by where it is installed."""
    store = make_store(tmp_path, HashingEmbedder())
    ingest(store, [seed_corpus])
    elsewhere = HashingEmbedder()
    elsewhere.model_id = "/another/venv/site-packages/" + elsewhere.model_id.rsplit("/", 1)[-1]
    report = ingest(LessonStore(connect(tmp_path / "home"), elsewhere), [seed_corpus])
    assert report.embedded == 0 and report.unchanged == 4


def test_changed_lesson_replaces_only_its_chunks(tmp_path, seed_corpus):
    embedder = HashingEmbedder()
    store = make_store(tmp_path, embedder)
    ingest(store, [seed_corpus])
    target = sorted(seed_corpus.glob("*.md"))[0]
    lesson_id = target.stem
    target.write_text(target.read_text() + "\n\n## Added part\n\nA brand new paragraph about zebras.\n")
    embedder.embedded.clear()
    report = ingest(store, [seed_corpus])
    assert report.unchanged == 3 and report.embedded == store.lesson(lesson_id).chunks
    chunks = store.passages({"lesson_id": lesson_id})
    assert len(chunks) == store.lesson(lesson_id).chunks
    assert len({c.chunk_id for c in chunks}) == len(chunks)  # no duplicates
    assert any("zebras" in c.text for c in chunks)
    # Only the changed lesson's chunks went through the embedder.
    other_texts = {p.text for p in store.passages() if p.lesson_id != lesson_id}
    assert not any(any(o in t for o in other_texts) for t in embedder.embedded)


def test_deleted_lesson_loses_its_chunks(tmp_path, seed_corpus):
    store = make_store(tmp_path)
    ingest(store, [seed_corpus])
    gone = sorted(seed_corpus.glob("*.md"))[1]
    gone.unlink()
    report = ingest(store, [seed_corpus])
    assert report.removed == 1
    assert store.lesson(gone.stem) is None
    assert store.passages({"lesson_id": gone.stem}) == []
    assert len(store.lessons()) == 3


def test_bad_files_are_reported_by_path_and_the_rest_indexed(tmp_path, seed_corpus):
    (seed_corpus / "empty.md").write_text("")
    (seed_corpus / "binary.md").write_bytes(b"\x00\x01\x02PNG")
    (seed_corpus / "latin1.txt").write_bytes("r\xe9sum\xe9 of the lesson".encode("latin-1"))
    store = make_store(tmp_path)
    report = ingest(store, [seed_corpus])
    assert report.lessons == 4
    bad = {e["path"].rsplit("/", 1)[-1]: e["error"] for e in report.errors}
    assert set(bad) == {"empty.md", "binary.md", "latin1.txt"}
    assert "empty" in bad["empty.md"] and "binary" in bad["binary.md"] and "UTF-8" in bad["latin1.txt"]


def test_a_lesson_that_turns_bad_keeps_its_indexed_version(tmp_path, seed_corpus):
    store = make_store(tmp_path)
    ingest(store, [seed_corpus])
    target = sorted(seed_corpus.glob("*.md"))[0]
    target.write_bytes(b"\xff\xfe\x00broken")
    report = ingest(store, [seed_corpus])
    assert report.removed == 0 and len(report.errors) == 1
    assert store.lesson(target.stem) is not None


def test_duplicate_ids_are_reported(tmp_path, seed_corpus):
    first = sorted(seed_corpus.glob("*.md"))[0]
    shutil.copy(first, seed_corpus / "copy-of-first.md")
    report = ingest(make_store(tmp_path), [seed_corpus])
    assert report.lessons == 4
    assert any("duplicate lesson id" in e["error"] for e in report.errors)


def test_rebuild_starts_over(tmp_path, seed_corpus):
    store = make_store(tmp_path)
    first = ingest(store, [seed_corpus])
    again = ingest(store, [seed_corpus], rebuild=True)
    assert again.embedded == first.embedded and again.unchanged == 0
