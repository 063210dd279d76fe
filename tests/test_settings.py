from pathlib import Path

import pytest
from conftest import REPO

from evals.update_readme import render
from tutor.settings import Settings, SettingsError


def test_env_vars_and_overrides():
    env = {"TUTOR_HOME": "/tmp/x", "TUTOR_TOP_K": "9", "TUTOR_CORPUS": "/a:/b", "TUTOR_LLM": "openai"}
    settings = Settings.from_env(env, llm="llamacpp", chroma_url=None)
    assert settings.home == Path("/tmp/x") and settings.top_k == 9
    assert settings.corpus == (Path("/a"), Path("/b"))
    assert settings.llm == "llamacpp"  # a flag wins over the env var


def test_bad_values_name_the_variable():
    with pytest.raises(SettingsError, match="TUTOR_TOP_K.*'many'"):
        Settings.from_env({"TUTOR_TOP_K": "many"})
    with pytest.raises(SettingsError, match="TUTOR_LLM: .*unknown answer backend 'gpt9'"):
        Settings.from_env({"TUTOR_LLM": "gpt9"})
    with pytest.raises(SettingsError, match="TUTOR_LLM"):
        Settings.from_env({}, llm="nope")


def test_lists_split_and_blank_values_mean_default():
    settings = Settings.from_env(
        {"TUTOR_CORS_ORIGINS": "https://a.example, https://b.example", "TUTOR_LLM": " ", "OPENAI_API_KEY": "sk-local"}
    )
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.llm == "extractive" and settings.llm_api_key == "sk-local"


def test_process_environment_is_read_when_no_mapping_is_given(monkeypatch):
    monkeypatch.setenv("TUTOR_TOP_K", "4")
    assert Settings.from_env().top_k == 4
    assert Settings.from_env({}).top_k == 6  # an explicit mapping replaces the process environment


def test_the_bundled_corpus_is_found_without_the_checkout_layout():
    from tutor.settings import bundled_corpus

    corpus = bundled_corpus()
    assert (corpus / "seeds").is_dir() and Settings.from_env({}).corpus == (corpus,)


def test_every_setting_is_documented_and_readme_is_current():
    assert all(info.description for info in Settings.model_fields.values())
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
