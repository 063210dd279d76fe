"""One mapping from the tutor's errors to HTTP status and learner-facing text."""

from tutor.errors import (
    FRIENDLY_FAILURE,
    BackendUnavailableError,
    InvalidRequestError,
    UnknownLessonError,
    public_error,
)
from tutor.generate.worker import WorkerDiedError


def test_one_mapping_from_errors_to_what_the_learner_sees():
    assert public_error(UnknownLessonError("unknown lesson 'x'")) == (404, "unknown lesson 'x'")
    assert public_error(InvalidRequestError("question is empty")) == (422, "question is empty")
    for failure in (WorkerDiedError("killed by SIGSEGV"), BackendUnavailableError("down"), ValueError("bad json")):
        assert public_error(failure) == (503, FRIENDLY_FAILURE)  # never a 422, never internals
