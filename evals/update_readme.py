"""Regenerate the README's generated sections: the settings table and the eval results.

Run `python -m evals.update_readme` after changing a setting or re-running the evals; a test fails when
the settings table in README.md is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tutor.settings import SETTINGS_DOC, Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def settings_table() -> str:
    defaults = Settings(embed_model="(bundled all-MiniLM-L6-v2)")
    rows = ["| variable | meaning | default |", "|---|---|---|"]
    for doc in SETTINGS_DOC:
        value = getattr(defaults, doc.field, "")
        if isinstance(value, tuple):
            value = ":".join(str(v) for v in value) or "—"
            value = "bundled `corpus/`" if "corpus" in value else value
        shown = f"`{value}`" if value not in ("", "—") and not str(value).startswith(("(", "bundled")) else value or "—"
        rows.append(f"| `{doc.env}` | {doc.help} | {shown} |")
    return "\n".join(rows)


def replace_section(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"README has no <!-- {name}:start/end --> markers")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def render(text: str) -> str:
    text = replace_section(text, "settings", settings_table())
    try:
        from evals.readme_table import results_markdown
    except ImportError:
        return text
    return replace_section(text, "results", results_markdown())


def main() -> int:
    README.write_text(render(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
