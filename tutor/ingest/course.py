"""A folder's course file (`course.yaml`): the course title, description and lesson order for every lesson in
that folder and below, whatever the lessons' formats (front matter only exists in Markdown).

    title: Databases from scratch
    description: A short course on SQL for beginners.
    lessons: [intro.md, select.html, joins]   # file names, stems or lesson ids, in course order

The nearest course file above a lesson (up to its corpus folder) applies; a lesson's own metadata
(`course:` front matter, `<meta name="course">`) still wins. A course file that cannot be read is reported
by name and its lessons are indexed under their folder's name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

COURSE_FILES = ("course.yaml", "course.yml")


class CourseFileError(ValueError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class CourseInfo:
    """What a course file says; empty when a folder has none."""

    title: str = ""
    description: str = ""
    order: tuple[str, ...] = ()
    path: str = ""
    digest: str = ""  # the file's bytes, hashed: part of every lesson's index hash, so edits re-index

    def position(self, path: Path, lesson_id: str = "") -> int:
        """A lesson's place in the course order; lessons the file does not list come after, in file order."""
        for i, entry in enumerate(self.order):
            if entry in (path.name, path.stem) or (lesson_id and entry == lesson_id):
                return i
        return len(self.order)


NO_COURSE = CourseInfo()


def read_course_file(path: Path) -> CourseInfo:
    """Parse one course file; `CourseFileError` says what is wrong with it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CourseFileError(path, f"cannot read file: {exc.strerror or exc}") from exc
    try:
        meta = yaml.safe_load(data.decode("utf-8-sig")) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CourseFileError(path, f"not valid UTF-8 YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise CourseFileError(path, "must be a mapping (title:, description:, lessons:)")
    lessons = meta.get("lessons") or []
    if not isinstance(lessons, list) or not all(isinstance(x, str | int) for x in lessons):
        raise CourseFileError(path, "`lessons:` must be a list of lesson file names or ids")
    return CourseInfo(
        title=str(meta.get("title") or "").strip(),
        description=str(meta.get("description") or "").strip(),
        order=tuple(str(x).strip() for x in lessons),
        path=str(path),
        digest=hashlib.sha256(data).hexdigest(),
    )


class CourseFiles:
    """The course file that applies to each lesson under one corpus folder, each file read once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.errors: dict[str, str] = {}
        self._by_folder: dict[Path, CourseInfo] = {}

    def for_lesson(self, lesson_path: Path) -> CourseInfo:
        return self._for_folder(Path(lesson_path).parent)

    def _for_folder(self, folder: Path) -> CourseInfo:
        if folder in self._by_folder:
            return self._by_folder[folder]
        info = self._own(folder)
        if info is None:
            above = folder != self.root and self.root in folder.parents
            info = self._for_folder(folder.parent) if above else NO_COURSE
        self._by_folder[folder] = info
        return info

    def _own(self, folder: Path) -> CourseInfo | None:
        for name in COURSE_FILES:
            path = folder / name
            if path.is_file():
                try:
                    return read_course_file(path)
                except CourseFileError as exc:
                    self.errors[str(path)] = exc.reason
                    return NO_COURSE
        return None
