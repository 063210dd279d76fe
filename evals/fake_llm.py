"""A stand-in OpenAI-compatible chat server that takes a fixed time per answer, for load scenarios and
tests: it shows whether the tutor overlaps LLM calls (throughput grows with `TUTOR_LLM_CONCURRENCY`) or
serialises them. It streams one grounded-looking sentence citing passage 1, and counts requests in flight.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SlowChat(BaseHTTPRequestHandler):
    delay = 2.0
    reply = "Fine-tuning changes the model's weights themselves. [1]"
    in_flight = 0
    most = 0
    served = 0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.most = max(cls.most, cls.in_flight)
        try:
            time.sleep(cls.delay)
            delta = {"role": "assistant", "content": cls.reply}
            chunk = {"id": "1", "object": "chat.completion.chunk", "created": 0, "model": "slow"}
            chunk["choices"] = [{"index": 0, "delta": delta, "finish_reason": None}]
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
        finally:
            with cls.lock:
                cls.in_flight -= 1
                cls.served += 1

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def slow_chat_server(delay: float = 2.0) -> Iterator[tuple[str, type[SlowChat]]]:
    """Serve on a free loopback port; yields the base URL (`.../v1`) and the handler class with its counters."""
    handler = type("SlowChatHandler", (SlowChat,), {"delay": delay, "in_flight": 0, "most": 0, "served": 0})
    handler.lock = threading.Lock()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    finally:
        server.shutdown()
        server.server_close()
