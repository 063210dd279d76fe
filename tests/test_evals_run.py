"""`tutor eval` end to end, as a user runs it: real models, real index, a subprocess per command.

One data dir is shared by the module so the bundled corpus is embedded once; every later run only hashes
the unchanged lessons (incremental ingest), which is also what makes re-running evals cheap for users.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
KEYS = {
    "retrieval": ("recall@1", "recall@5", "mrr"),
    "refusal": ("precision", "recall", "f1"),
    "grounding": ("citation_validity", "supported_rate"),
    "answer": ("key_fact_recall",),
    "latency_ms": ("p50", "p95"),
}


@pytest.fixture(scope="module")
def eval_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A private TUTOR_HOME and results dir: the tests never touch a real index or evals/results/."""
    base = tmp_path_factory.mktemp("evals")
    env = {k: v for k, v in os.environ.items() if k not in ("TUTOR_EVAL_THRESHOLDS", "TUTOR_CHROMA_URL")}
    env.update(TUTOR_HOME=str(base / "home"), TUTOR_EVAL_RESULTS=str(base / "results"))
    return env


def tutor_eval(env: dict[str, str], *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tutor.cli", "eval", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_shape(summary: dict) -> None:
    for group, keys in KEYS.items():
        assert group in summary, group
        for key in keys:
            assert key in summary[group], f"{group}.{key}"
            value = summary[group][key]
            assert value is None or isinstance(value, (int, float)), f"{group}.{key} = {value!r}"


def test_seed_json_with_baseline_and_report(eval_env, tmp_path):
    report = tmp_path / "report"
    proc = tutor_eval(
        eval_env, "--suite", "seed", "--json", "--baseline", "naive", "--limit", "12", "--report", str(report)
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["suite"] == "seed" and result["n"] == 12
    assert_shape(result)
    assert_shape(result["baseline"])
    assert result["baseline"]["n"] == 12
    assert result["grounding"]["citation_validity"] in (None, 1.0)
    assert result["retrieval"]["recall@5"] is not None
    assert "records" not in result

    for name in ("report.html", "report.md", "records.jsonl", "ragas.jsonl", "metrics.png"):
        assert (report / name).is_file(), name
    page = (report / "report.html").read_text(encoding="utf-8")
    assert '<img src="data:image/png;base64,' in page
    assert "http://" not in page and "https://" not in page  # self-contained
    rows = [json.loads(line) for line in (report / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 12
    wanted = {"question", "expected", "answer", "refused", "citations", "metrics", "latency_ms", "baseline"}
    assert wanted <= set(rows[0])
    ragas = [json.loads(line) for line in (report / "ragas.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {"question", "contexts", "answer", "ground_truth"} <= set(ragas[0])
    assert not Path(eval_env["TUTOR_EVAL_RESULTS"], "seed.json").exists()  # --limit runs are not saved


def test_table_output_and_check_fails_on_impossible_threshold(eval_env, tmp_path):
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text("[seed]\nkey_fact_recall = 1.01\ncitation_validity = 0.0\n")
    env = dict(eval_env, TUTOR_EVAL_THRESHOLDS=str(thresholds))
    proc = tutor_eval(env, "--suite", "seed", "--limit", "4", "--check")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "project" in proc.stdout and "key-fact recall" in proc.stdout
    assert "key_fact_recall" in proc.stderr
    assert "citation_validity" not in proc.stderr.split("check failed")[-1]

    thresholds.write_text("[seed]\ncitation_validity = 0.0\n")
    assert tutor_eval(env, "--suite", "seed", "--limit", "2", "--check").returncode == 0


def test_user_dataset_and_corpus(eval_env, tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "volcanoes.md").write_text(
        "---\nid: volcanoes\ntitle: Volcanoes\n---\n# Volcanoes\n\nMagma that reaches the surface is called lava. "
        "Shield volcanoes have gentle slopes built by runny basalt lava flows.\n",
        encoding="utf-8",
    )
    (lessons / "tides.md").write_text(
        "---\nid: tides\ntitle: Tides\n---\n# Tides\n\nTides are caused mainly by the gravity of the Moon. "
        "Spring tides happen when the Sun and Moon line up.\n",
        encoding="utf-8",
    )
    rows = [
        {
            "id": "u1",
            "question": "What is magma called when it reaches the surface?",
            "lesson_id": "volcanoes",
            "answerable": True,
            "reference": "Lava.",
            "key_facts": ["lava"],
            "gold_lessons": ["volcanoes"],
        },
        {
            "id": "u2",
            "question": "What mainly causes tides?",
            "lesson_id": "tides",
            "answerable": True,
            "reference": "The gravity of the Moon.",
            "key_facts": ["gravity of the Moon"],
            "gold_lessons": ["tides"],
        },
        {"id": "u3", "question": "Who won the 2018 World Cup final?", "lesson_id": "tides", "answerable": False},
    ]
    dataset = tmp_path / "mine.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    proc = tutor_eval(eval_env, "--dataset", str(dataset), "--corpus", str(lessons), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["suite"] == "mine" and result["n"] == 3
    assert_shape(result)
    assert result["refusal"]["tp"] + result["refusal"]["fn"] == 1
    assert result["retrieval"]["recall@5"] == 1.0  # two lessons: the gold one is always in the top 5
    assert list(Path(eval_env["TUTOR_HOME"], "evals").glob("dataset-*"))  # its own data dir


def test_bad_dataset_row_exits_2_with_line_number(eval_env, tmp_path):
    dataset = tmp_path / "bad.jsonl"
    dataset.write_text(
        '{"id": "a", "question": "Q?", "answerable": true, "key_facts": ["x"]}\n'
        '{"id": "b", "question": "", "answerable": true}\n',
        encoding="utf-8",
    )
    proc = tutor_eval(eval_env, "--dataset", str(dataset), "--corpus", str(tmp_path))
    assert proc.returncode == 2
    assert "bad.jsonl:2" in proc.stderr and "`question`" in proc.stderr
