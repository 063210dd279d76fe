"""Course files (`course.yaml`) and served corpus folders: the course a folder's lessons belong to whatever
their format, their order, and a server that serves exactly its own folders' lessons."""

from __future__ import annotations

from pathlib import Path

from conftest import HashingEmbedder

from tutor.ingest.index import ingest
from tutor.store.chroma import LessonStore, connect

HTML = (
    "<html><head><title>Joins</title></head><body><main><h1>Joins</h1><p>A join combines rows.</p></main></body></html>"
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def course_folder(root: Path) -> Path:
    folder = root / "sql-course"
    write(
        folder / "course.yaml",
        "title: Databases from scratch\ndescription: SQL for beginners.\nlessons: [select.txt, joins, intro.md]\n",
    )
    write(folder / "intro.md", "# Introduction\n\nA database keeps tables of rows.\n")
    write(folder / "select.txt", "SELECT reads rows from a table.\n")
    write(folder / "joins.html", HTML)
    write(folder / "extra.md", "# Extra\n\nIndexes make lookups fast.\n")
    return folder


def store_at(home: Path) -> LessonStore:
    return LessonStore(connect(home), HashingEmbedder())


def test_a_course_file_names_the_course_of_every_format_and_orders_its_lessons(tmp_path):
    folder = course_folder(tmp_path / "corpus")
    store = store_at(tmp_path / "home")
    report = ingest(store, [folder])
    assert report.errors == [] and report.lessons == 4
    lessons = store.lessons()
    assert {r.course for r in lessons} == {"Databases from scratch"}
    assert [r.id for r in lessons] == ["select", "joins", "intro", "extra"]  # listed first, then by file name
    assert {r.course_description for r in lessons} == {"SQL for beginners."}
    assert {p.course for p in store.passages()} == {"Databases from scratch"}


def test_a_lessons_own_course_metadata_wins_over_the_course_file(tmp_path):
    folder = course_folder(tmp_path / "corpus")
    write(folder / "guest.md", "---\ncourse: Guest lectures\n---\n# Guest\n\nA talk on storage engines.\n")
    store = store_at(tmp_path / "home")
    ingest(store, [folder])
    assert store.lesson("guest").course == "Guest lectures"
    assert store.lesson("intro").course == "Databases from scratch"


def test_editing_the_course_file_reindexes_its_lessons(tmp_path):
    folder = course_folder(tmp_path / "corpus")
    store = store_at(tmp_path / "home")
    ingest(store, [folder])
    write(folder / "course.yaml", "title: SQL basics\nlessons: [intro.md]\n")
    report = ingest(store, [folder])
    assert report.embedded > 0 and report.unchanged == 0
    assert {r.course for r in store.lessons()} == {"SQL basics"}
    assert store.lessons()[0].id == "intro"
    assert ingest(store, [folder]).embedded == 0


def test_a_bad_course_file_is_reported_by_name_and_its_lessons_still_indexed(tmp_path):
    folder = course_folder(tmp_path / "corpus")
    write(folder / "course.yaml", "title: [unclosed\n")
    store = store_at(tmp_path / "home")
    report = ingest(store, [folder])
    assert [e["path"] for e in report.errors] == [str(folder / "course.yaml")]
    assert "YAML" in report.errors[0]["error"]
    assert report.lessons == 4 and {r.course for r in store.lessons()} == {"sql course"}


def test_a_subfolder_without_a_course_file_takes_its_parents(tmp_path):
    folder = course_folder(tmp_path / "corpus")
    write(folder / "week-2" / "views.md", "# Views\n\nA view is a saved query.\n")
    store = store_at(tmp_path / "home")
    ingest(store, [tmp_path / "corpus"])
    assert store.lesson("views").course == "Databases from scratch"


def test_a_store_serving_some_folders_reads_only_their_lessons(tmp_path, seed_corpus):
    mine = course_folder(tmp_path / "mine")
    home = tmp_path / "home"
    ingest(store_at(home), [seed_corpus])
    ingest(store_at(home), [mine])
    store = store_at(home)
    assert store.count() == 8
    store.serve_only([mine])
    assert store.count() == 4 and {r.course for r in store.lessons()} == {"Databases from scratch"}
    assert store.lesson("intro") is not None
    seed_id = sorted(seed_corpus.glob("*.md"))[0].stem
    assert store.lesson(seed_id) is None
    assert {p.lesson_id for p in store.passages()} == {"select", "joins", "intro", "extra"}
    vector = store.embedder.embed_query("fine-tuning a model on examples")
    assert {p.lesson_id for p in store.search(vector, 20)} <= {"select", "joins", "intro", "extra"}
    # (A lesson scope is not narrowed by folder: asks name a lesson `store.lesson` found, and it finds none
    # outside the served folders.)
    store.serve_only([mine, seed_corpus])
    assert store.count() == 8 and store.lesson(seed_id) is not None


def test_reads_of_many_rows_come_in_pages(tmp_path, seed_corpus, monkeypatch):
    """A catalog's chunks are more rows than SQLite takes variables in one filtered read: reads are paged."""
    import tutor.store.chroma as chroma

    mine = course_folder(tmp_path / "mine")
    store = store_at(tmp_path / "home")
    ingest(store, [seed_corpus])
    ingest(store, [mine])
    everything = store.passages()
    monkeypatch.setattr(chroma, "_READ_PAGE", 3)
    assert [p.chunk_id for p in store.passages()] == [p.chunk_id for p in everything]
    store.serve_only([mine])
    assert {p.lesson_id for p in store.passages()} == {"select", "joins", "intro", "extra"}
    assert store.count() == 4 and len(store.lessons()) == 4
