"""Prompt templates, kept in YAML files beside this module so they can be read and edited as text."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

PROMPT_DIR = Path(__file__).parent / "prompts"


@cache
def load_prompt(name: str) -> dict[str, str]:
    """The templates of `prompts/<name>.yaml`, as a dict of str.format templates."""
    with (PROMPT_DIR / f"{name}.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)
