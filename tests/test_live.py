"""Live lessons, as an author uses them: a course folder with a `course.yaml`, served on its own beside another
course in the same data dir, edited while the server runs, re-indexed with `tutor ingest` (through the
server) or by `tutor serve --watch`, answered from the new text without a restart, and never a failed ask
while it happens."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import REPO, SEED_CORPUS, child_env, serving

pytestmark = pytest.mark.slow

COURSE_YAML = "title: Databases from scratch\ndescription: SQL for beginners.\nlessons: [tables.md, indexes.md]\n"
TABLES = """# Tables

A table stores rows. Every row has the same columns, and each column has a type such as integer or text.

## Primary keys

A primary key is a column whose value is unique in every row, so a row can be found by it.
"""
INDEXES = """# Indexes

An index is a separate structure that lets the database find rows without reading the whole table.

## When to add an index

Add an index on the columns that queries filter by often. Every index slows down inserts a little, because
the index must be updated with the table.
"""
ADDED = """
## Vacuum

VACUUM rewrites the table file and reclaims the disk space that deleted rows left behind.
"""
QUESTION = "What does VACUUM do?"
# Asked by learners, not covered by the lesson: the gap report groups the first three.
GAPS = ["How do I back up the database?", "What is the best way to make a database backup?", "how to backup my db"]


def write_course(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "course.yaml").write_text(COURSE_YAML)
    (folder / "tables.md").write_text(TABLES)
    (folder / "indexes.md").write_text(INDEXES)
    return folder


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tutor.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def ask(client: httpx.Client, question: str, lesson_id: str = "indexes") -> httpx.Response:
    return client.post("/api/ask", json={"question": question, "lesson_id": lesson_id})


class Asker(threading.Thread):
    """Asks the same question over and over, recording every status, while the lessons are re-indexed."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.statuses, self.stop = url, [], threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self.stop.is_set():
                self.statuses.append(ask(client, "What does an index let the database do?").status_code)


def test_an_author_serves_only_their_course_and_edits_it_while_the_server_runs(tmp_path):
    course = write_course(tmp_path / "my-course")
    other = tmp_path / "other"
    subprocess.run(["cp", "-r", str(SEED_CORPUS), str(other)], check=True)
    env = child_env(TUTOR_HOME=str(tmp_path / "home"), TUTOR_CORPUS=str(other))
    assert cli("ingest", "--json", env=env).returncode == 0  # another course in the same data dir

    with serving(tmp_path, course) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        lessons = client.get("/api/lessons").json()
        assert [(x["id"], x["course"]) for x in lessons] == [
            ("tables", "Databases from scratch"),
            ("indexes", "Databases from scratch"),
        ], "the server must serve exactly its corpus folder, in course order"
        assert client.get("/healthz").json()["lessons"] == 2
        before = ask(client, QUESTION).json()
        assert before["refused"], before["answer"]

        asker = Asker(server.url)
        asker.start()
        edited = time.monotonic()
        (course / "indexes.md").write_text(INDEXES + ADDED)
        done = cli("ingest", "--json", env={**env, "TUTOR_CORPUS": str(course)})
        assert done.returncode == 0, done.stderr
        assert "re-indexed by the running server" in done.stderr
        after = ask(client, QUESTION).json()
        answerable_s = time.monotonic() - edited
        asker.stop.set()
        asker.join(60)
        assert not after["refused"], after["answer"]
        assert any("reclaims the disk space" in c["quote"] for c in after["citations"])
        assert asker.statuses and set(asker.statuses) == {200}, asker.statuses
        print(f"edit -> answerable through `tutor ingest`: {answerable_s:.2f} s")

        (course / "tables.md").unlink()
        (course / "views.md").write_text("# Views\n\nA view is a saved query that reads like a table.\n")
        assert cli("ingest", "--json", env={**env, "TUTOR_CORPUS": str(course)}).returncode == 0
        ids = [x["id"] for x in client.get("/api/lessons").json()]
        assert ids == ["indexes", "views"]
        assert ask(client, "What is a primary key?", lesson_id="tables").status_code == 404
        assert not ask(client, "What is a view?", lesson_id="views").json()["refused"]

        for question in GAPS:
            assert ask(client, question).json()["refused"]
        report = tmp_path / "report.html"
        made = cli("report", "--format", "html", "-o", str(report), env={**env, "TUTOR_CORPUS": str(course)})
        assert made.returncode == 0, made.stderr
        page = report.read_text()
        assert "Indexes" in page and "Databases from scratch" in page
        data = cli("report", "--format", "json", "--lesson", "indexes", env={**env, "TUTOR_CORPUS": str(course)})
        (gaps,) = json.loads(data.stdout)["lessons"]
        groups = {frozenset(c["questions"]): c for c in gaps["clusters"]}
        assert frozenset(GAPS) in groups, [c["questions"] for c in gaps["clusters"]]
        assert groups[frozenset(GAPS)]["count"] == 3 and groups[frozenset(GAPS)]["nearest_section"]
        assert all(q in page for q in GAPS[:1])
    assert not (tmp_path / "home" / "server.json").exists(), "a stopped server must not stay announced"


def test_serve_watch_reindexes_when_a_lesson_file_changes(tmp_path):
    course = write_course(tmp_path / "my-course")
    with serving(tmp_path, course, "--watch") as server, httpx.Client(base_url=server.url, timeout=60) as client:
        assert ask(client, QUESTION).json()["refused"]
        edited = time.monotonic()
        (course / "indexes.md").write_text(INDEXES + ADDED)
        deadline = edited + 60
        while ask(client, QUESTION).json()["refused"]:
            assert time.monotonic() < deadline, "the edit was not picked up:\n" + server.log()[-3000:]
            time.sleep(0.2)
        print(f"edit -> answerable with --watch: {time.monotonic() - edited:.2f} s")


def test_server_file_is_private_and_withdrawn(tmp_path):
    from tutor.serve.live import LiveIndex, find_server, reindex_through_server

    live = LiveIndex(tutor=None)
    path = live.announce(tmp_path, "http://127.0.0.1:9")
    assert path.stat().st_mode & 0o777 == 0o600
    found = find_server(tmp_path)
    assert found["key"] == live.key and found["url"] == "http://127.0.0.1:9"
    # Announced but not answering (nothing listens on port 9): the caller indexes by itself.
    assert reindex_through_server(tmp_path, [tmp_path]) is None
    live.withdraw(tmp_path)
    assert not path.exists() and find_server(tmp_path) is None
