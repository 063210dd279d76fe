"""The gap report as an author sees it: the bundled seed lessons, learners' questions asked through the
tutor (some the lessons answer, several they don't, asked in different words, and a 👎 with a comment),
then `tutor report --format html` rendered in Chromium and saved as a PNG.

    python -m evals.report_screenshot [--out evals/results/gap-report.png]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LESSON = "fine-tuning-vs-prompting"
QUESTIONS = [
    "What is the fine-tuning vs prompting choice?",
    "Why does the choice matter?",
    "What rank should I use for LoRA?",
    "How do I pick the LoRA rank?",
    "which lora rank is best for a small model",
    "How much does it cost to fine-tune on a GPU?",
    "What is the price of renting a GPU for fine-tuning?",
    "Who invented the transformer?",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "evals" / "results" / "gap-report.png")
    args = parser.parse_args(argv)

    from tutor.pipeline import Tutor
    from tutor.serve.feedback import FeedbackStore
    from tutor.settings import Settings, apply_offline_env
    from ui.server import log_questions

    apply_offline_env()
    home = Path(tempfile.mkdtemp(prefix="tutor-report-shot-"))
    settings = Settings.from_env({}, home=home, corpus=(REPO / "corpus" / "seeds",))
    tutor = Tutor.from_settings(settings)
    tutor.ingest()
    log_questions(tutor, settings)
    answers = [tutor.ask(q, lesson_id=LESSON) for q in QUESTIONS]
    rated = next(a for a in answers if not a.refused)
    FeedbackStore(settings.state_db).add(
        rated.question, rated.answer, LESSON, "down", "It quoted the heading, not the explanation.", rated.id
    )
    page = home / "report.html"
    env = {**os.environ, "TUTOR_HOME": str(home), "TUTOR_CORPUS": str(REPO / "corpus" / "seeds")}
    cmd = [sys.executable, "-m", "tutor.cli", "report", "--format", "html", "-o", str(page)]
    subprocess.run(cmd, env=env, check=True, cwd=REPO)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        view = browser.new_page(viewport={"width": 1000, "height": 900})
        view.goto(page.as_uri())
        args.out.parent.mkdir(parents=True, exist_ok=True)
        view.screenshot(path=str(args.out), full_page=True)
        browser.close()
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
