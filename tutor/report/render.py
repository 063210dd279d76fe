"""The gap report as HTML (one self-contained file: inline styles and an SVG chart, no script, no CDN),
Markdown, CSV (one row per group of unanswered questions) or JSON.

Everything a learner typed is escaped: the report is opened by an author in a browser.
"""

from __future__ import annotations

import csv
import io
import json
from html import escape

from tutor.report.gaps import Cluster, GapReport, LessonGaps

FORMATS = ("html", "md", "csv", "json")
CSV_COLUMNS = (
    "lesson_id",
    "lesson",
    "course",
    "asked",
    "answered",
    "refused",
    "group_size",
    "example",
    "questions",
    "nearest_lesson",
    "nearest_section",
    "last_asked",
)


def render(report: GapReport, fmt: str = "html") -> str:
    if fmt == "json":
        return json.dumps(report.to_dict(), ensure_ascii=False, indent=1)
    if fmt == "csv":
        return _csv(report)
    if fmt == "md":
        return _markdown(report)
    if fmt == "html":
        return _html(report)
    raise ValueError(f"unknown report format {fmt!r}: use {', '.join(FORMATS)}")


def pointer(cluster: Cluster, lesson: LessonGaps) -> str:
    """One sentence an author can act on: what learners ask, and where the lesson comes closest."""
    asked = f"{cluster.count} question{'s' if cluster.count != 1 else ''} like “{cluster.example}”"
    if not cluster.nearest_section:
        return f"Learners asked {asked}; no lesson passage came close."
    where = cluster.nearest_section
    if cluster.nearest_lesson and cluster.nearest_lesson != lesson.lesson_id:
        where = f"{where} ({cluster.nearest_lesson})"
    return f"Learners asked {asked}; the nearest the lesson comes is “{where}”."


# --- CSV ---------------------------------------------------------------------------------------------
def _csv(report: GapReport) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for lesson in report.lessons:
        base = {
            "lesson_id": lesson.lesson_id,
            "lesson": lesson.title,
            "course": lesson.course,
            "asked": lesson.asked,
            "answered": lesson.answered,
            "refused": lesson.refused,
        }
        if not lesson.clusters:
            writer.writerow({**base, "group_size": 0})
        for c in lesson.clusters:
            writer.writerow(
                {
                    **base,
                    "group_size": c.count,
                    "example": c.example,
                    "questions": " | ".join(c.questions),
                    "nearest_lesson": c.nearest_lesson,
                    "nearest_section": c.nearest_section,
                    "last_asked": c.last_asked,
                }
            )
    return out.getvalue()


# --- Markdown ----------------------------------------------------------------------------------------
def _markdown(report: GapReport) -> str:
    lines = [
        "# What learners asked that the lessons don't answer",
        "",
        f"Generated {report.generated}{f', questions since {report.since}' if report.since else ''}: "
        f"{report.asked} questions, {report.answered} answered, {report.refused} not answered.",
        "",
    ]
    for lesson in report.lessons:
        lines += [f"## {_md(lesson.title)}" + (f" ({lesson.course})" if lesson.course else ""), ""]
        lines += [f"{lesson.asked} asked · {lesson.answered} answered · {lesson.refused} not answered", ""]
        if lesson.clusters:
            lines += ["| questions | example | nearest section |", "|---|---|---|"]
            lines += [f"| {c.count} | {_md(c.example)} | {_md(c.nearest_section) or '—'} |" for c in lesson.clusters]
            lines.append("")
        for d in lesson.disliked:
            comment = f" — “{_md(d['comment'])}”" if d["comment"] else ""
            lines.append(f"- 👎 {d['when']}: {_md(d['question'])}{comment}")
        if lesson.disliked:
            lines.append("")
    if report.days:
        lines += ["## Per day", "", "| day | answered | not answered |", "|---|---|---|"]
        lines += [f"| {d['day']} | {d['answered']} | {d['refused']} |" for d in report.days]
    return "\n".join(lines).rstrip() + "\n"


def _md(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


# --- HTML --------------------------------------------------------------------------------------------
_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.muted{color:#57606a}.stats span{display:inline-block;margin-right:1.2rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid #eaeef2;vertical-align:top}th{background:#f6f8fa}td.n{text-align:right;width:4rem}
.gap{margin:.2rem 0 0;color:#57606a;font-size:.9em}details{margin-top:.2rem}
.down{background:#fff5f5;border-left:3px solid #cf222e;padding:.4rem .6rem;margin:.4rem 0}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}th{background:#161b22}
th,td{border-color:#30363d}.down{background:#2d1416}.muted,.gap{color:#8b949e}}
"""
_ANSWERED, _REFUSED = "#2da44e", "#cf222e"


def _html(report: GapReport) -> str:
    since = f", questions since {escape(report.since)}" if report.since else ""
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width,initial-scale=1">',
        "<title>Lesson gap report</title><style>" + _STYLE + "</style></head><body>",
        "<h1>What learners asked that the lessons don't answer</h1>",
        f"<p class=muted>Generated {escape(report.generated)}{since}.</p>",
        f"<p class=stats><span><b>{report.asked}</b> questions</span><span><b>{report.answered}</b> answered</span>"
        f"<span><b>{report.refused}</b> not answered</span></p>",
        _chart(report.days),
    ]
    for lesson in report.lessons:
        parts.append(_lesson_html(lesson))
    if not report.lessons:
        parts.append("<p>No questions have been logged yet.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _lesson_html(lesson: LessonGaps) -> str:
    course = f" <span class=muted>· {escape(lesson.course)}</span>" if lesson.course else ""
    ident = f" <code class=muted>{escape(lesson.lesson_id)}</code>" if lesson.lesson_id else ""
    out = [
        f"<section><h2>{escape(lesson.title)}{course}{ident}</h2>",
        f"<p class=stats><span>{lesson.asked} asked</span><span>{lesson.answered} answered</span>"
        f"<span>{lesson.refused} not answered ({lesson.refused_share:.0%})</span></p>",
    ]
    if lesson.clusters:
        out.append("<table><tr><th>Asked</th><th>What learners asked</th><th>Nearest section</th></tr>")
        for c in lesson.clusters:
            more = ""
            if len(c.questions) > 1:
                items = "".join(f"<li>{escape(q)}</li>" for q in c.questions)
                more = f"<details><summary>{len(c.questions)} ways it was asked</summary><ul>{items}</ul></details>"
            out.append(
                f"<tr><td class=n>{c.count}</td><td>“{escape(c.example)}”{more}"
                f"<p class=gap>{escape(pointer(c, lesson))}</p></td>"
                f"<td>{escape(c.nearest_section) or '—'}</td></tr>"
            )
        out.append("</table>")
    for d in lesson.disliked:
        comment = f"<br>Comment: “{escape(d['comment'])}”" if d["comment"] else ""
        out.append(
            f"<div class=down>👎 {escape(d['when'])}: <b>{escape(d['question'])}</b><br>"
            f"<span class=muted>Answer: {escape(d['answer'][:400])}</span>{comment}</div>"
        )
    out.append("</section>")
    return "\n".join(out)


def _chart(days: list[dict], width: int = 720, height: int = 160) -> str:
    """Questions per day, answered and not answered stacked, as inline SVG."""
    if not days:
        return ""
    top = max(d["answered"] + d["refused"] for d in days) or 1
    step = width / len(days)
    bar = max(1.0, step * 0.8)
    rects = []
    for i, d in enumerate(days):
        x = i * step + (step - bar) / 2
        h_ok = (height - 20) * d["answered"] / top
        h_no = (height - 20) * d["refused"] / top
        label = escape(f"{d['day']}: {d['answered']} answered, {d['refused']} not answered")
        rects.append(
            f'<g><title>{label}</title><rect x="{x:.1f}" y="{height - h_ok:.1f}" width="{bar:.1f}" '
            f'height="{h_ok:.1f}" fill="{_ANSWERED}"/><rect x="{x:.1f}" y="{height - h_ok - h_no:.1f}" '
            f'width="{bar:.1f}" height="{h_no:.1f}" fill="{_REFUSED}"/></g>'
        )
    first, last = escape(days[0]["day"]), escape(days[-1]["day"])
    return (
        f'<figure><svg role="img" aria-label="Questions per day" viewBox="0 0 {width} {height + 16}" '
        f'width="100%">{"".join(rects)}<text x="0" y="{height + 14}" font-size="11">{first}</text>'
        f'<text x="{width}" y="{height + 14}" font-size="11" text-anchor="end">{last}</text></svg>'
        f'<figcaption class="legend muted">Questions per day <span style="background:{_ANSWERED}"></span>answered'
        f'<span style="background:{_REFUSED}"></span>not answered (most {top} a day)</figcaption></figure>'
    )
