"""Gap report data: per lesson, questions asked, answered vs refused, the refused ones clustered by meaning,
and the 👎 answers with their comments.

Clustering reuses the question vectors logged at ask time (no model pass here): one greedy pass over the
questions in time order puts each into the closest existing group when their cosine is at least
`SIMILAR`, else starts a group. That is linear in questions × groups, so 10,000 questions take well under a
second, and a group's example is the member closest to its centre.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np

from tutor.serve.questions import LoggedQuestion

SIMILAR = 0.72  # MiniLM cosine above which two questions ask about the same thing
EXAMPLES = 5


@dataclass
class Cluster:
    """Refused questions that ask about the same thing."""

    count: int
    example: str
    questions: list[str]
    nearest_lesson: str
    nearest_section: str
    last_asked: str


@dataclass
class LessonGaps:
    lesson_id: str  # "" for questions asked across lessons or a course
    title: str
    course: str
    asked: int = 0
    answered: int = 0
    refused: int = 0
    clusters: list[Cluster] = field(default_factory=list)
    disliked: list[dict] = field(default_factory=list)  # 👎 answers: question, answer, comment, when

    @property
    def refused_share(self) -> float:
        return self.refused / self.asked if self.asked else 0.0


@dataclass
class GapReport:
    generated: str
    since: str
    asked: int
    answered: int
    refused: int
    lessons: list[LessonGaps]
    days: list[dict]  # {"day", "answered", "refused"}, oldest first

    def to_dict(self) -> dict:
        return asdict(self)


def build_report(
    questions: Iterable[LoggedQuestion],
    feedback: Iterable[dict],
    titles: dict[str, tuple[str, str]],
    since: float | None = None,
) -> GapReport:
    """The report over logged questions and feedback rows; `titles` maps lesson id → (title, course)."""
    by_lesson: dict[str, list[LoggedQuestion]] = {}
    for q in questions:
        by_lesson.setdefault(q.lesson_id, []).append(q)
    lessons: dict[str, LessonGaps] = {}
    for lesson_id, rows in by_lesson.items():
        title, course = titles.get(lesson_id, (lesson_id or "All lessons", rows[-1].course))
        gaps = LessonGaps(lesson_id, title, course, asked=len(rows))
        gaps.refused = sum(q.refused for q in rows)
        gaps.answered = gaps.asked - gaps.refused
        gaps.clusters = cluster([q for q in rows if q.refused])
        lessons[lesson_id] = gaps
    for row in feedback:
        if row.get("rating") != "down":
            continue
        lesson_id = row.get("lesson_id") or ""
        if lesson_id not in lessons:
            title, course = titles.get(lesson_id, (lesson_id or "All lessons", ""))
            lessons[lesson_id] = LessonGaps(lesson_id, title, course)
        lessons[lesson_id].disliked.append(
            {
                "question": row.get("question", ""),
                "answer": row.get("answer", ""),
                "comment": row.get("comment", ""),
                "when": _day(row.get("updated") or row.get("created") or 0),
            }
        )
    ordered = sorted(lessons.values(), key=lambda g: (-g.refused, -len(g.disliked), -g.asked, g.lesson_id))
    all_rows = [q for rows in by_lesson.values() for q in rows]
    refused = sum(q.refused for q in all_rows)
    return GapReport(
        generated=_day(time.time(), with_time=True),
        since=_day(since) if since else "",
        asked=len(all_rows),
        answered=len(all_rows) - refused,
        refused=refused,
        lessons=ordered,
        days=_per_day(all_rows),
    )


def cluster(rows: list[LoggedQuestion], similar: float = SIMILAR) -> list[Cluster]:
    """Group refused questions by meaning, biggest group first."""
    with_vectors = [q for q in rows if q.vector is not None and q.vector.size]
    groups: list[list[int]] = []
    if with_vectors:
        vectors = np.stack([q.vector for q in with_vectors]).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
        sums = np.zeros_like(vectors)  # one row per group, at most one group per question
        centres = np.zeros_like(vectors)
        for i, v in enumerate(vectors):
            n = len(groups)
            if n:
                sims = centres[:n] @ v
                best = int(np.argmax(sims))
                if sims[best] >= similar:
                    groups[best].append(i)
                    sums[best] += v
                    centres[best] = sums[best] / (np.linalg.norm(sums[best]) + 1e-12)
                    continue
            groups.append([i])
            sums[n] = centres[n] = v
        clusters = [_summary([with_vectors[i] for i in g], vectors[g]) for g in groups]
    else:
        clusters = []
    by_text: dict[str, list[LoggedQuestion]] = {}
    for q in rows:
        if q.vector is None or not q.vector.size:
            by_text.setdefault(" ".join(q.question.lower().split()), []).append(q)
    clusters += [_summary(members, None) for members in by_text.values()]
    return sorted(clusters, key=lambda c: (-c.count, c.example))


def _summary(members: list[LoggedQuestion], vectors: np.ndarray | None) -> Cluster:
    if vectors is not None and len(members) > 1:
        centre = vectors.mean(axis=0)
        order = np.argsort(-(vectors @ centre)).tolist()
    else:
        order = list(range(len(members)))
    distinct = list(dict.fromkeys(members[i].question.strip() for i in order))
    lesson, section = Counter((q.nearest_lesson, q.nearest_section) for q in members).most_common(1)[0][0]
    return Cluster(
        count=len(members),
        example=distinct[0],
        questions=distinct[:EXAMPLES],
        nearest_lesson=lesson,
        nearest_section=section,
        last_asked=_day(max(q.created for q in members)),
    )


def _per_day(rows: list[LoggedQuestion]) -> list[dict]:
    days: dict[str, list[int]] = {}
    for q in rows:
        counts = days.setdefault(_day(q.created), [0, 0])
        counts[1 if q.refused else 0] += 1
    return [{"day": d, "answered": a, "refused": r} for d, (a, r) in sorted(days.items())]


def _day(ts: float, with_time: bool = False) -> str:
    moment = datetime.fromtimestamp(ts, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")


def gap_report(questions, feedback, lessons, lesson_id: str | None = None, since: float | None = None) -> GapReport:
    """The report from the questions log, the feedback store and the served lessons (for their titles)."""
    titles = {r.id: (r.title, r.course) for r in lessons}
    return build_report(questions.rows(since, lesson_id), feedback.rows(since, lesson_id), titles, since)


def parse_since(value: str | None) -> float | None:
    """`2026-11-01` (UTC midnight) or `7d` (the last seven days) as a timestamp; None for empty."""
    if not value:
        return None
    value = value.strip()
    if value[:-1].isdigit() and value[-1:].lower() == "d":
        return time.time() - int(value[:-1]) * 86_400
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ValueError(f"--since {value!r}: use a date like 2026-11-01 or a number of days like 30d") from None
    return day.timestamp()
