"""The OpenAI-compatible backend against small loopback servers that misbehave: every failure is a
`BackendUnavailableError` (a 503 for the learner, a fallback in the pipeline), never a 422 or a crash."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import free_port

from tutor.errors import BackendUnavailableError
from tutor.generate.openai import OpenAIBackend

MESSAGES = [{"role": "user", "content": "hi"}]


def chunk(text: str) -> str:
    return "data: " + json.dumps(
        {
            "id": "1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
        }
    )


class Handler(BaseHTTPRequestHandler):
    mode = "ok"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.mode == "error":
            body = json.dumps({"error": {"message": "model overloaded"}}).encode()
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        lines = [chunk("Hello"), chunk(" there")]
        if self.mode == "malformed":
            lines.append("data: {this is not json")
        lines.append("data: [DONE]")
        self.wfile.write(("\n\n".join(lines) + "\n\n").encode())

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def backend(port: int) -> OpenAIBackend:
    return OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", "k", timeout=10, retries=0)


def test_streams_the_reply(server):
    Handler.mode = "ok"
    assert "".join(backend(server.server_port)._chat(MESSAGES, 20)) == "Hello there"


@pytest.mark.parametrize(("mode", "says"), [("error", "500"), ("malformed", "malformed|failed")])
def test_server_failures_are_backend_unavailable(server, mode, says):
    Handler.mode = mode
    with pytest.raises(BackendUnavailableError, match=says):
        "".join(backend(server.server_port)._chat(MESSAGES, 20))


def test_a_server_that_is_not_there_is_backend_unavailable():
    with pytest.raises(BackendUnavailableError, match="failed"):
        "".join(backend(free_port())._chat(MESSAGES, 20))
