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


class BackendMisconfiguredError(TutorError):
    """The answer backend is set up wrongly (unknown name, missing extra, no model file)."""
