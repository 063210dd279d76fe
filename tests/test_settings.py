from pathlib import Path

from conftest import REPO

from evals.update_readme import render
from tutor.settings import SETTINGS_DOC, Settings


def test_env_vars_and_overrides():
    env = {"TUTOR_HOME": "/tmp/x", "TUTOR_TOP_K": "9", "TUTOR_CORPUS": "/a:/b", "TUTOR_LLM": "openai"}
    settings = Settings.from_env(env, llm="llamacpp", chroma_url=None)
    assert settings.home == Path("/tmp/x") and settings.top_k == 9
    assert settings.corpus == (Path("/a"), Path("/b"))
    assert settings.llm == "llamacpp"  # a flag wins over the env var


def test_every_setting_is_documented_and_readme_is_current():
    assert {d.field for d in SETTINGS_DOC} <= set(Settings.__dataclass_fields__)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert render(readme).split("<!-- settings:end -->")[0] == readme.split("<!-- settings:end -->")[0], (
        "README settings table is stale: run `python -m evals.update_readme`"
    )


def test_readme_layout_names_every_stage_folder():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = render(readme).split("<!-- layout:start -->")[1].split("<!-- layout:end -->")[0]
    assert section == readme.split("<!-- layout:start -->")[1].split("<!-- layout:end -->")[0], (
        "README layout is stale: run `python -m evals.update_readme`"
    )
    for stage in ("ingest", "store", "retrieve", "ground", "generate", "serve"):
        assert f"| `tutor/{stage}/` |" in section
