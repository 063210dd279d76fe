"""`tutor` command line: ingest, lessons, ask, serve, report, feedback export, eval."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tutor.errors import InvalidRequestError, TutorError, UnknownLessonError
from tutor.generate.registry import BACKENDS, CHAT_BACKENDS
from tutor.settings import Settings, apply_offline_env


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", help="data dir (TUTOR_HOME, default ./.tutor)")
    parser.add_argument("--chroma-url", help="use a `chroma run` server at http://host:port (TUTOR_CHROMA_URL)")
    parser.add_argument("--embed-model", help="embedding model path or id (TUTOR_EMBED_MODEL)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tutor", description="A tutor that answers only from your lessons.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index lesson folders (incremental)")
    _common(p)
    p.add_argument("--corpus", action="append", type=Path, help="lesson folder (repeatable; TUTOR_CORPUS)")
    p.add_argument("--rebuild", action="store_true", help="drop the index and embed everything again")
    p.add_argument("--strict", action="store_true", help="exit non-zero when any lesson file is bad")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("lessons", help="list indexed lessons")
    _common(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("ask", help="ask one question")
    _common(p)
    p.add_argument("question")
    p.add_argument("--lesson", help="lesson id to answer from")
    p.add_argument("--course", help="course to answer from")
    p.add_argument("--llm", choices=list(BACKENDS), help="answer backend (TUTOR_LLM)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("serve", help="start the web UI and HTTP API")
    _common(p)
    p.add_argument(
        "--corpus", action="append", type=Path, help="serve exactly these lesson folders (repeatable; TUTOR_CORPUS)"
    )
    p.add_argument("--watch", action="store_true", help="re-index the lesson folders when their files change")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--llm", choices=list(BACKENDS))

    p = sub.add_parser("report", help="what learners asked that the lessons don't answer (the gap report)")
    _common(p)
    p.add_argument("--lesson", help="only this lesson")
    p.add_argument("--since", help="only questions since a date (2026-11-01) or for the last N days (30d)")
    p.add_argument("--format", choices=["html", "md", "csv", "json"], default="html")
    p.add_argument("-o", "--output", type=Path, help="write here instead of standard output")

    p = sub.add_parser("feedback", help="learners' 👍/👎 and comments")
    feedback_sub = p.add_subparsers(dest="feedback_command", required=True)
    p = feedback_sub.add_parser("export", help="every vote with its question, answer and comment")
    _common(p)
    p.add_argument("--lesson", help="only this lesson")
    p.add_argument("--since", help="only votes since a date (2026-11-01) or for the last N days (30d)")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("-o", "--output", type=Path, help="write here instead of standard output")

    p = sub.add_parser("eval", help="run grounding evals")
    _common(p)
    p.add_argument("--suite", help="shipped suite: seed, mlfb, learner, squad2, scifact")
    p.add_argument("--dataset", type=Path, help="your own JSONL dataset")
    p.add_argument("--corpus", action="append", type=Path, help="lesson folder for --dataset")
    p.add_argument("--baseline", choices=["naive"], help="also run a baseline on the same questions")
    p.add_argument("--llm", choices=list(BACKENDS))
    p.add_argument("--judge", choices=list(CHAT_BACKENDS), help="also judge claim support with this LLM backend")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("--report", type=Path, help="write report.html, report.md, records.jsonl here")
    p.add_argument(
        "--results",
        type=Path,
        help="save complete suite runs here as <suite>.json (TUTOR_EVAL_RESULTS; default ./eval-results)",
    )
    p.add_argument("--check", action="store_true", help="exit 1 when a metric is below evals/thresholds.toml")
    p.add_argument("--json", action="store_true")
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        home=args.home,
        chroma_url=args.chroma_url,
        embed_model=args.embed_model,
        llm=getattr(args, "llm", None),
        corpus=tuple(args.corpus) if getattr(args, "corpus", None) else None,
    )


def main(argv: list[str] | None = None) -> int:
    apply_offline_env()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    settings = settings_from_args(args)
    handler = {
        "ingest": cmd_ingest,
        "lessons": cmd_lessons,
        "ask": cmd_ask,
        "serve": cmd_serve,
        "report": cmd_report,
        "feedback": cmd_feedback,
        "eval": cmd_eval,
    }[args.command]
    try:
        return handler(args, settings)
    except (UnknownLessonError, InvalidRequestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TutorError as exc:  # a backend that cannot start or answer: one line that says why
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from tutor.serve.live import reindex_through_server

    # A server running on this data dir re-indexes for us: one process writes the index, and the server
    # answers from the new lessons at once.
    through = reindex_through_server(settings.home, list(settings.corpus), args.rebuild)
    if through is not None:
        data, url = through
        print(f"re-indexed by the running server at {url}", file=sys.stderr)
    else:
        from tutor.ingest.index import ingest
        from tutor.store.chroma import open_store

        data = ingest(
            open_store(settings, lazy=True, scoped=False),  # nothing changed: the model is never loaded
            settings.corpus,
            settings.chunk_tokens,
            rebuild=args.rebuild,
            sentence_vectors=settings.sentence_vectors == "ingest",
            batch_size=settings.embed_batch,
        ).to_dict()
    if args.json:
        data.pop("seconds", None)
        print(json.dumps(data))
    else:
        print(
            f"{data['lessons']} lessons, {data['chunks']} chunks: embedded {data['embedded']}, "
            f"unchanged {data['unchanged']} lessons, removed {data['removed']} ({data['seconds']:.1f}s)"
        )
        for err in data["errors"]:
            print(f"error: {err['path']}: {err['error']}", file=sys.stderr)
    return 1 if args.strict and data["errors"] else 0


def cmd_lessons(args: argparse.Namespace, settings: Settings) -> int:
    from tutor.store.chroma import open_store

    records = open_store(settings).lessons()
    if args.json:
        print(json.dumps([r.summary() for r in records]))
    else:
        for r in records:
            print(f"{r.id:45} {r.chunks:4d} chunks  [{r.course}] {r.title}")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from tutor.answer import answer_json
    from tutor.pipeline import Tutor

    answer = Tutor.from_settings(settings).ask(args.question, lesson_id=args.lesson, course=args.course)
    if args.json:
        print(json.dumps(answer_json(answer)))
    else:
        print(answer.answer)
        for c in answer.citations:
            print(f'  [{c.n}] {c.lesson_id} · {c.section or c.title}: "{c.quote}"')
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from ui.server import serve

    return serve(settings, host=args.host, port=args.port, watch=args.watch)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from tutor.report import gap_report, render
    from tutor.serve.feedback import FeedbackStore, adopt_legacy_file
    from tutor.serve.questions import QuestionLog
    from tutor.store.chroma import open_store

    since = _since(args.since)
    adopt_legacy_file(settings.state_db)
    questions = QuestionLog(settings.state_db, settings.question_log_days)
    lessons = open_store(settings, lazy=True).lessons()  # titles only: the model is never loaded
    report = gap_report(questions, FeedbackStore(settings.state_db), lessons, args.lesson, since)
    return _emit(render(report, args.format), args.output)


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from tutor.serve.feedback import FeedbackStore, adopt_legacy_file

    adopt_legacy_file(settings.state_db)
    return _emit(FeedbackStore(settings.state_db).export(args.format, _since(args.since), args.lesson), args.output)


def _since(value: str | None) -> float | None:
    from tutor.report import parse_since

    try:
        return parse_since(value)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None


def _emit(text: str, output: Path | None) -> int:
    if output is None:
        sys.stdout.write(text)
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from evals.run import run_from_cli

    return run_from_cli(args, settings)


if __name__ == "__main__":
    sys.exit(main())
