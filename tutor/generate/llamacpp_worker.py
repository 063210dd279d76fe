"""The llama.cpp child process: `python -m tutor.generate.llamacpp_worker MODEL.gguf [N_CTX]`.

It runs the model in a process of its own so that a native crash (a segfault in a CPU kernel) kills this
process, never the tutor. It speaks JSON lines: requests `{"id", "messages", "max_tokens"}` and
`{"cancel": id}` on stdin; on stdout first `{"ready": true}` (or `{"fatal": reason}`), then per request
`{"id", "piece"}` lines ending in `{"id", "done": true}` or `{"id", "error"}`. Requests run one at a time;
a cancelled one stops at its next token. It exits when stdin closes, so it never outlives the tutor.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from typing import IO, Any


def _protocol_stdout() -> IO[str]:
    """The real stdout for protocol lines; fd 1 then points at stderr so native prints cannot corrupt it."""
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def _read_requests(requests: queue.Queue, cancelled: set[int]) -> None:
    for line in sys.stdin:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "cancel" in message:
            cancelled.add(int(message["cancel"]))
        else:
            requests.put(message)
    requests.put(None)  # stdin closed: the tutor is gone


def _generate(llm: Any, request: dict, cancelled: set[int], send) -> None:
    rid = int(request["id"])
    try:
        for part in llm.create_chat_completion(
            messages=request["messages"],
            max_tokens=int(request.get("max_tokens", 200)),
            temperature=0.0,
            stream=True,
        ):
            if rid in cancelled:
                break
            piece = part["choices"][0]["delta"].get("content")
            if piece:
                send({"id": rid, "piece": piece})
        send({"id": rid, "done": True})
    except Exception as exc:  # a Python-level failure answers this request; the worker lives on
        send({"id": rid, "error": f"{type(exc).__name__}: {exc}"})
    finally:
        cancelled.discard(rid)


def main(argv: list[str]) -> int:
    out = _protocol_stdout()
    lock = threading.Lock()

    def send(message: dict) -> None:
        with lock:
            out.write(json.dumps(message) + "\n")
            out.flush()

    if not argv:
        send({"fatal": "usage: python -m tutor.generate.llamacpp_worker MODEL.gguf [N_CTX]"})
        return 2
    model_path, n_ctx = argv[0], int(argv[1]) if len(argv) > 1 else 4096
    try:
        from llama_cpp import Llama

        llm = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=os.cpu_count() or 2, verbose=False)
    except Exception as exc:
        send({"fatal": f"{type(exc).__name__}: {exc}"})
        return 1
    requests: queue.Queue = queue.Queue()
    cancelled: set[int] = set()
    threading.Thread(target=_read_requests, args=(requests, cancelled), daemon=True).start()
    send({"ready": True, "pid": os.getpid()})
    while (request := requests.get()) is not None:
        _generate(llm, request, cancelled, send)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
