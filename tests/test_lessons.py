from pathlib import Path

import pytest

from tutor.ingest.lessons import LessonError, find_lesson_files, load_lesson


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def test_markdown_front_matter_sets_id_title_course(tmp_path):
    path = write(tmp_path / "intro.md", "---\nid: my-id\ntitle: My Title\ncourse: Course A\n---\n# Heading\n\nBody.\n")
    lesson = load_lesson(path, tmp_path)
    assert (lesson.id, lesson.title, lesson.course) == ("my-id", "My Title", "Course A")
    assert lesson.text.startswith("# Heading")


def test_defaults_come_from_file_stem_heading_and_folder(tmp_path):
    path = write(tmp_path / "my-course" / "lesson-one.md", "# First Lesson\n\nSome text.\n\n## Part\n\nMore.\n")
    lesson = load_lesson(path, tmp_path)
    assert lesson.id == "lesson-one"
    assert lesson.title == "First Lesson"
    assert lesson.course == "my course"
    part = [s for s in lesson.sections if s.title == "Part"][0]
    assert part.path == ("First Lesson", "Part")
    assert lesson.text[part.start : part.end].startswith("## Part")


def test_plain_text_and_html_lessons(tmp_path):
    txt = load_lesson(write(tmp_path / "notes.txt", "Plain notes about gradients.\n"), tmp_path)
    assert txt.title == "Plain notes about gradients."
    html = load_lesson(
        write(
            tmp_path / "page.html",
            (
                "<html><head><title>Web Lesson</title><script>var x=1;</script></head><body><nav>Menu</nav>"
                "<h1>Gradients</h1><p>A gradient points uphill.</p><ul><li>one</li><li>two</li></ul></body></html>"
            ),
        ),
        tmp_path,
    )
    assert html.title == "Web Lesson"
    assert "# Gradients" in html.text and "- one" in html.text
    assert "Menu" not in html.text and "var x" not in html.text


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        ("caf\u00e9".encode("latin-1"), "UTF-8"),
        (b"---\nid: x\n---\n", "no text"),
        (b"---\nid: [unclosed\n---\nBody\n", "YAML"),
        (b"---\nid: bad id!\n---\nBody\n", "lesson id"),
    ],
)
def test_bad_files_raise_with_reason(tmp_path, data, reason):
    path = write(tmp_path / "bad.md", data)
    with pytest.raises(LessonError) as err:
        load_lesson(path, tmp_path)
    assert reason in err.value.reason
    assert err.value.path == path


def test_find_lesson_files_skips_readme_license_and_hidden(tmp_path):
    for name in ["a.md", "b.txt", "c.html", "README.md", "LICENSE", "SOURCE.txt", ".hidden/x.md", "d.py"]:
        write(tmp_path / name, "x")
    names = sorted(p.name for p in find_lesson_files([tmp_path]))
    assert names == ["a.md", "b.txt", "c.html"]
