"""The `tutor` command as a user runs it: real model, real Chroma, subprocesses."""

import json
import subprocess
import sys

import pytest
from conftest import REPO, child_env


def tutor(*args: str, home, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tutor.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(TUTOR_HOME=str(home)),
        cwd=REPO,
    )


@pytest.mark.slow
def test_ingest_json_twice_then_lessons(tmp_path, seed_corpus):
    (seed_corpus / "broken.md").write_bytes(b"\x00\x00binary")
    first = tutor("ingest", "--json", "--corpus", str(seed_corpus), home=tmp_path)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert set(report) == {"lessons", "chunks", "embedded", "unchanged", "removed", "errors"}
    assert report["lessons"] == 4 and report["embedded"] == report["chunks"] > 0
    assert report["errors"][0]["path"].endswith("broken.md")

    second = json.loads(tutor("ingest", "--json", "--corpus", str(seed_corpus), home=tmp_path).stdout)
    assert second["embedded"] == 0 and second["unchanged"] == 4

    strict = tutor("ingest", "--strict", "--corpus", str(seed_corpus), home=tmp_path)
    assert strict.returncode == 1 and "broken.md" in strict.stderr

    listed = json.loads(tutor("lessons", "--json", home=tmp_path).stdout)
    assert len(listed) == 4
    assert set(listed[0]) == {"id", "title", "course", "chunks"}
