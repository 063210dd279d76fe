"""A stand-in model process for `ChildWorker` tests: the same JSON-lines protocol, canned replies.

`python echo_worker.py MODE`: MODE `ok` answers every request by echoing the last message word by word;
`fatal` refuses to load; `crash-at-start` dies of SIGSEGV before it is ready. A request whose text
contains CRASH dies of SIGSEGV after its first word, as a native crash would.
"""

import json
import os
import queue
import signal
import sys
import threading
import time


def send(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(mode: str) -> None:
    if mode == "fatal":
        send({"fatal": "cannot load model.gguf: bad magic"})
        return
    if mode == "crash-at-start":
        print("loading model.gguf", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGSEGV)
    requests: queue.Queue = queue.Queue()
    cancelled: set[int] = set()

    def read() -> None:
        for line in sys.stdin:
            message = json.loads(line)
            if "cancel" in message:
                cancelled.add(message["cancel"])
            else:
                requests.put(message)
        requests.put(None)

    threading.Thread(target=read, daemon=True).start()
    send({"ready": True, "pid": os.getpid()})
    while (request := requests.get()) is not None:
        words = request["messages"][-1]["content"].split()
        for i, word in enumerate(words[: request.get("max_tokens", 200)]):
            if request["id"] in cancelled:
                break
            send({"id": request["id"], "piece": ("" if i == 0 else " ") + word})
            if "CRASH" in words and i == 0:
                time.sleep(0.05)
                print("ggml: illegal instruction in a CPU kernel", file=sys.stderr, flush=True)
                os.kill(os.getpid(), signal.SIGSEGV)
            time.sleep(0.01)
        send({"id": request["id"], "done": True})


if __name__ == "__main__":
    main(sys.argv[1])
