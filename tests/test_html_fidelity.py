"""Real documentation pages come out as their main content, with headings, code, tables and lists intact."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tutor.ingest.lessons import load_lesson

FIXTURES = Path(__file__).parent / "fixtures" / "html_fidelity"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


def prose_blocks(text: str) -> list[str]:
    return [b for b in text.split("\n\n") if not b.startswith(("#", "```", "~~~", "|", "- ", "**"))]


@pytest.fixture(params=sorted(EXPECTED), ids=lambda name: name.removesuffix(".html"))
def page(request):
    return load_lesson(FIXTURES / request.param), EXPECTED[request.param]


def test_title_has_no_site_suffix(page):
    lesson, expected = page
    assert lesson.title == expected["title"]


def test_headings_are_the_main_contents_in_order(page):
    lesson, expected = page
    assert [s.title for s in lesson.sections] == expected["headings"]


def test_code_is_fenced_verbatim(page):
    lesson, expected = page
    if "code" not in expected:
        pytest.skip("page has no code example")
    fences = re.findall(r"^```\n(.*?)\n```$", lesson.text, flags=re.DOTALL | re.MULTILINE)
    assert any(expected["code"] in fence for fence in fences)


def test_first_paragraph(page):
    lesson, expected = page
    if "first_paragraph" not in expected:
        pytest.skip("page opens with a list or a byline")
    assert prose_blocks(lesson.text)[0].startswith(expected["first_paragraph"])


def test_tables_keep_rows_and_lists_keep_items(page):
    lesson, expected = page
    lines = lesson.text.splitlines()
    if "table_row" in expected:
        assert expected["table_row"] in lines
    if "list_item" in expected:
        assert any(re.match(r"(- |\d+\. )" + re.escape(expected["list_item"]), line) for line in lines)


def test_site_chrome_and_permalink_marks_are_gone(page):
    lesson, expected = page
    assert "¶" not in lesson.text
    leaked = [chrome for chrome in expected["absent"] if re.search(rf"\b{re.escape(chrome)}\b", lesson.text)]
    assert not leaked
