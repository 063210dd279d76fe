"""A chat tutor that answers only from the lesson you are reading, cites it, and says so when it can't.

Public API: `Tutor.from_settings(Settings.from_env()).ask(question, lesson_id=...) -> Answer`.
"""

from tutor.answer import Answer, Citation, Passage
from tutor.settings import Settings

__all__ = ["Answer", "Citation", "Passage", "Settings", "Tutor", "UnknownLessonError"]


def __getattr__(name: str):
    # The pipeline pulls in torch and Chroma; import it only when asked for.
    if name in ("Tutor", "UnknownLessonError"):
        from tutor import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
