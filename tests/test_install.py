"""The install is pinned: both README commands use the committed constraints, and the lock covers every
dependency the project declares, so a release tomorrow cannot change what a fresh install gets."""

import re

import pytest
from conftest import REPO

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

LOCK = REPO / "constraints.txt"


def readme_command(marker: str) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split(f"<!-- {marker} -->", 1)[1]
    return block.split("```bash", 1)[1].split("```", 1)[0].strip()


def locked() -> dict[str, list[str]]:
    pins: dict[str, list[str]] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = re.match(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pins.setdefault(normalize(match[1]), []).append(match[2])
    return pins


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_both_readme_commands_install_torch_first_then_the_locked_versions():
    for marker in ("run-command", "test-command"):
        command = readme_command(marker)
        assert command.index("pip install torch==2.13.0") < command.index("-c constraints.txt"), marker


def test_llama_cpp_is_built_for_a_portable_cpu_not_the_build_machine():
    command = readme_command("test-command")
    assert "-DGGML_NATIVE=OFF" in command and "llamacpp" in command


def test_every_declared_dependency_is_pinned_in_the_lock():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared += extra
    pins = locked()
    missing = [d for d in declared if normalize(re.split(r"[\[<>=!~; ]", d, maxsplit=1)[0]) not in pins]
    assert not missing, f"not in constraints.txt (regenerate it, see README): {missing}"
    assert pins["torch"] == ["2.13.0"] and len(pins["llama-cpp-python"]) == 1


def test_a_wheel_carries_the_bundled_lessons_prompts_and_parameters(tmp_path):
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    shipped = {n.split("/share/lesson-tutor/corpus/", 1)[1] for n in names if "/share/lesson-tutor/corpus/" in n}
    lessons = {str(p.relative_to(REPO / "corpus")) for p in (REPO / "corpus").glob("*/*.md")}
    assert lessons and lessons <= shipped
    assert {"tutor/generate/prompts/answer.yaml", "tutor/ground/gate_params.json"} <= set(names)


def test_an_installed_copy_finds_its_lessons_under_its_prefix(tmp_path, monkeypatch):
    import sys

    import tutor.settings
    from tutor.settings import CORPUS_SHARE, bundled_corpus

    (tmp_path / CORPUS_SHARE / "seeds").mkdir(parents=True)
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert bundled_corpus() == REPO / "corpus"  # a checkout's own lessons win: edits show up at once
    monkeypatch.setattr(tutor.settings, "SOURCE_ROOT", tmp_path / "site-packages")  # as in a wheel install
    assert bundled_corpus() == tmp_path / CORPUS_SHARE
