"""Lessons are prepared once each, in the background, when their chat opens."""

import threading

import pytest

from tests.test_widget import HOSTILE, _Lessons
from tutor.serve.opening import LessonOpener
from tutor.serve.origins import OriginPolicy
from ui.widget import widget_routes


class _Opening:
    """A tutor whose `open_lesson` counts calls, can be held until released, and fails on request."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = threading.Event()
        self.release.set()
        self.fail = False

    def open_lesson(self, lesson_id: str) -> int:
        self.calls.append(lesson_id)
        self.release.wait(10)
        if self.fail:
            raise RuntimeError("index unreachable")
        return 7


def test_a_lesson_opened_twice_is_prepared_once_and_again_after_the_lessons_change():
    tutor = _Opening()
    opener = LessonOpener(tutor)
    try:
        tutor.release.clear()
        first, second = opener.open("a"), opener.open("a")
        assert first is second  # the one under way
        tutor.release.set()
        opened = first.result(10)
        assert (opened.lesson_id, opened.sentences_embedded) == ("a", 7) and opened.seconds >= 0
        assert opener.open("a").result(10) == opened and tutor.calls == ["a"]
        opener.forget()
        opener.open("a").result(10)
        assert tutor.calls == ["a", "a"]
    finally:
        opener.close()


def test_a_failed_preparation_is_tried_again_on_the_next_open():
    tutor = _Opening()
    tutor.fail = True
    opener = LessonOpener(tutor)
    try:
        with pytest.raises(RuntimeError, match="unreachable"):
            opener.open("a").result(10)
        tutor.fail = False
        assert opener.open("a").result(10).sentences_embedded == 7
        assert tutor.calls == ["a", "a"]
    finally:
        opener.close()


def test_serving_a_lessons_chat_starts_preparing_that_lesson(tmp_path):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    lessons, tutor = _Lessons(HOSTILE), _Opening()
    opener = LessonOpener(tutor)
    api = FastAPI()
    api.include_router(widget_routes(lessons, OriginPolicy.of(()), opener))
    try:
        with TestClient(api) as client:
            assert client.get("/embed", params={"lesson": "markup"}).status_code == 200
            opener.open("markup").result(10)
            assert client.get("/embed", params={"lesson": "unknown"}).status_code == 404
        assert tutor.calls == ["markup"]  # an unknown lesson starts nothing
    finally:
        opener.close()


def test_opens_beyond_the_queue_bound_are_refused_and_the_chat_still_serves(tmp_path):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from tutor.errors import OverloadedError

    tutor = _Opening()
    tutor.release.clear()
    opener = LessonOpener(tutor, max_waiting=2)
    try:
        held = [opener.open("a"), opener.open("b")]
        with pytest.raises(OverloadedError, match="2 lessons are being prepared"):
            opener.open("c")
        opener.start("c")  # for a page being served: refused quietly, nothing queued
        assert opener.open("a") is held[0]  # one already queued is still answered
        api = FastAPI()
        api.include_router(widget_routes(_Lessons(HOSTILE), OriginPolicy.of(()), opener))
        with TestClient(api) as client:
            assert client.get("/embed", params={"lesson": "markup"}).status_code == 200
        tutor.release.set()
        assert [f.result(10).lesson_id for f in held] == ["a", "b"]
        assert tutor.calls == ["a", "b"]
        assert opener.open("c").result(10).lesson_id == "c"
    finally:
        tutor.release.set()
        opener.close()
