"""The tutor's errors: what went wrong for the learner (bad request) versus for the operator (a backend)."""

from __future__ import annotations


class TutorError(Exception):
    """Base of every error the tutor raises on purpose; its message is safe to show."""


class UnknownLessonError(TutorError, LookupError):
    """Asked about a lesson id that is not in the index."""


class InvalidRequestError(TutorError, ValueError):
    """The question or its parameters are unusable (empty question, bad option)."""


class BackendUnavailableError(TutorError):
    """The answer backend cannot answer right now (server down, worker crashed, model failed to load)."""


class StoreUnavailableError(TutorError):
    """The lesson index (a `chroma run` server) cannot be reached; asks resume by themselves once it is back."""


class BackendMisconfiguredError(TutorError):
    """A backend (answers, embeddings) is set up wrongly (unknown name, missing extra, no model file)."""


class OverloadedError(TutorError):
    """Too many asks are already running or waiting: the server turns this one away instead of queueing it."""


class RateLimitedError(TutorError):
    """This client asked faster than the per-minute limit allows; `retry_after` says when it may again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


FRIENDLY_FAILURE = "The tutor hit a problem answering that. Please try again in a moment."


def public_error(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and the learner-facing text for any failure: the one mapping the JSON API, the SSE
    stream and the UI share. Request mistakes say what was wrong; everything else gets one friendly line
    (the details go to the log, not to the learner)."""
    if isinstance(exc, UnknownLessonError):
        return 404, str(exc)
    if isinstance(exc, InvalidRequestError):
        return 422, str(exc)
    if isinstance(exc, RateLimitedError):
        return 429, str(exc)
    if isinstance(exc, (OverloadedError, StoreUnavailableError)):
        return 503, str(exc)
    return 503, FRIENDLY_FAILURE
