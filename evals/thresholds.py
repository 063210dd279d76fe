"""`--check`: compare a suite's metrics with `evals/thresholds.toml` and list every one that regressed.

Thresholds are floors for higher-is-better metrics and ceilings for lower-is-better ones (latency, false
refusals), keyed by the flat names in `evals/headline.py`. A threshold on a metric the run could not
measure fails too: a check that silently passes because a number went missing is no check.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from evals.headline import BY_NAME, flat

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_PATH = Path(__file__).resolve().parent / "thresholds.toml"
ENV_VAR = "TUTOR_EVAL_THRESHOLDS"


def thresholds_path() -> Path:
    """`TUTOR_EVAL_THRESHOLDS` when set (tests, CI variants), else the shipped `evals/thresholds.toml`."""
    override = os.environ.get(ENV_VAR, "").strip()
    return Path(override) if override else DEFAULT_PATH


def load_thresholds(suite: str, path: Path | None = None) -> dict[str, float]:
    """The `[suite]` table of the thresholds file (empty when the suite has none)."""
    path = path or thresholds_path()
    if not path.is_file():
        raise FileNotFoundError(f"thresholds file not found: {path}")
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    table = data.get(suite, {})
    return {str(k): float(v) for k, v in table.items()}


def check(result: dict[str, Any], limits: dict[str, float]) -> list[str]:
    """One line per failed threshold (empty when all pass)."""
    failures = []
    values = flat(result)
    if result.get("errors"):
        failures.append(f"errors: {result['errors']} questions raised an exception")
    for name, limit in sorted(limits.items()):
        metric = BY_NAME.get(name)
        if metric is None:
            failures.append(f"{name}: unknown metric (known: {', '.join(sorted(BY_NAME))})")
            continue
        got = values[name]
        if got is None:
            failures.append(f"{name}: not measured in this run (threshold {limit:g})")
        elif metric.higher_is_better and got < limit:
            failures.append(f"{name}: {got:.4f} < {limit:g}")
        elif not metric.higher_is_better and got > limit:
            failures.append(f"{name}: {got:.4f} > {limit:g} (lower is better)")
    return failures
