"""The authors' gap report: what learners asked, what the lessons answered, and the unanswered questions
grouped by meaning with the lesson section nearest to each group (`tutor report`, `/api/admin/report`)."""

from tutor.report.gaps import Cluster, GapReport, LessonGaps, build_report, gap_report, parse_since
from tutor.report.render import FORMATS, render

__all__ = [
    "FORMATS",
    "Cluster",
    "GapReport",
    "LessonGaps",
    "build_report",
    "gap_report",
    "parse_since",
    "render",
]
