"""Merging renderings: several scraped pages of one lesson become one lesson that says everything once.

A site may render the same lesson twice (a full page and a shorter one, say). Indexing both would make the
tutor retrieve near-duplicate chunks and cite the same text under two ids, so renderings are grouped by title
or text overlap, the fuller one is kept, and only what the others add is inserted where it belongs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from corpus.tools.page_lesson import CleanLesson, Section, normalize

log = logging.getLogger(__name__)


def _shingles(lesson: CleanLesson, k: int = 5) -> set[tuple[str, ...]]:
    """Word 5-grams of the lesson text: overlap survives re-wrapping and small edits between renderings."""
    words = normalize(" ".join(lesson.blocks())).split()
    return {tuple(words[i : i + k]) for i in range(len(words) - k + 1)}


def same_lesson(a: CleanLesson, b: CleanLesson, threshold: float = 0.8) -> bool:
    """Same normalized title, or the smaller rendering's text is (almost) all inside the larger one."""
    if a.title and normalize(a.title) == normalize(b.title):
        return True
    sa, sb = _shingles(a), _shingles(b)
    small, large = (sa, sb) if len(sa) <= len(sb) else (sb, sa)
    return len(small) >= 10 and len(small & large) / len(small) >= threshold


def merge_renderings(lessons: list[CleanLesson]) -> list[CleanLesson]:
    """Merge renderings of the same lesson: keep the fuller one, add what only the others have.

    Order of first appearance is kept. A paragraph or bullet is added only if its normalized text is not
    already in the kept rendering, so nothing appears twice.
    """
    groups: list[list[CleanLesson]] = []
    for lesson in lessons:
        for group in groups:
            if same_lesson(group[0], lesson):
                group.append(lesson)
                break
        else:
            groups.append([lesson])
    merged: list[CleanLesson] = []
    for group in groups:
        ranked = sorted(group, key=lambda ls: ls.size, reverse=True)
        base = _copy(ranked[0])
        for other in ranked[1:]:
            _merge_into(base, other)
        base.sources = [s for ls in group for s in ls.sources]
        if len(group) > 1:
            log.info("merged %d renderings of %r", len(group), base.title)
        merged.append(base)
    return merged


def _copy(lesson: CleanLesson) -> CleanLesson:
    """A deep enough copy that merging never edits the renderings passed in."""
    return CleanLesson(
        title=lesson.title,
        summary=lesson.summary,
        intro=list(lesson.intro),
        sections=[Section(s.heading, list(s.body), s.level, s.explicit) for s in lesson.sections],
        sources=list(lesson.sources),
    )


def _insert_missing(target: list[str], source: Sequence[str], present: set[str]) -> None:
    """Add blocks of `source` not in `present`, each right after the block that preceded it in `source`."""
    for j, block in enumerate(source):
        key = normalize(block)
        if not key or key in present:
            continue
        pos = len(target)
        if j:
            prev = normalize(source[j - 1])
            for k, existing in enumerate(target):
                if normalize(existing) == prev:
                    pos = k + 1
        target.insert(pos, block)
        present.add(key)


def _merge_into(base: CleanLesson, other: CleanLesson) -> None:
    """Add to `base` what only `other` says: its summary, intro blocks and sections, each near its neighbours."""
    present = {normalize(b) for b in base.blocks()}
    if not base.summary and other.summary:
        base.summary = other.summary
        present.add(normalize(other.summary))
    elif other.summary and normalize(other.summary) not in present:
        base.intro.insert(0, other.summary)
        present.add(normalize(other.summary))
    _insert_missing(base.intro, other.intro, present)

    last_index = -1
    for section in other.sections:
        index = _match_section(base, section)
        if index is None:
            novel = [b for b in section.body if normalize(b) and normalize(b) not in present]
            if not novel and section.body:
                continue
            added = Section(section.heading, [], section.level, section.explicit)
            _insert_missing(added.body, novel, present)
            last_index = last_index + 1 if last_index >= 0 else len(base.sections)
            base.sections.insert(last_index, added)
        else:
            _insert_missing(base.sections[index].body, section.body, present)
            last_index = index


def _match_section(base: CleanLesson, section: Section) -> int | None:
    """The base section with the same heading that shares the most text (or the only one so named)."""
    key = normalize(section.heading)
    same = [i for i, s in enumerate(base.sections) if normalize(s.heading) == key]
    if not same:
        return None
    mine = {normalize(b) for b in section.body}
    best = max(same, key=lambda i: len(mine & {normalize(b) for b in base.sections[i].body}))
    if mine & {normalize(b) for b in base.sections[best].body} or len(same) == 1:
        return best
    return None
