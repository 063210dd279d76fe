"""No connection leaves the machine at run time: ingest, ask, eval and serve run with every socket connect
and name lookup watched, and any that is not loopback fails the test (and the call itself)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import httpx
import pytest
from conftest import REPO, SEED_CORPUS, child_env, free_port, running

pytestmark = pytest.mark.slow

GUARD = textwrap.dedent(
    '''
    """Loaded at interpreter start (sitecustomize): refuse and record any non-loopback connect or lookup."""
    import ipaddress
    import os
    import socket

    _LOG = os.environ["OFFLINE_GUARD_LOG"]
    _LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}
    _connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def _record(what):
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(what + "\\n")

    def _local(host):
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return host in _LOCAL_NAMES

    def _check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            if not _local(str(address[0])):
                _record(f"connect {address[0]}:{address[1]}")
                raise OSError(f"offline guard: refused a connection to {address[0]}")

    def connect(self, address):
        _check(self, address)
        return _connect(self, address)

    def connect_ex(self, address):
        _check(self, address)
        return _connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        if not _local(name):
            _record(f"lookup {name}")
            raise socket.gaierror(f"offline guard: refused to look up {name}")
        return _getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
    '''
)


def test_ingest_ask_eval_and_serve_make_no_outbound_connection(tmp_path):
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    log = tmp_path / "outbound.log"
    log.touch()
    env = child_env(
        PYTHONPATH=str(guard),
        OFFLINE_GUARD_LOG=str(log),
        TUTOR_HOME=str(tmp_path / "home"),
        TUTOR_CORPUS=str(SEED_CORPUS),
    )

    # The guard itself works: a connection to a public address is refused and recorded.
    probe = "import socket; socket.create_connection(('93.184.216.34', 80), timeout=1)"
    refused = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "offline guard" in refused.stderr
    assert "93.184.216.34" in log.read_text(encoding="utf-8")
    log.write_text("", encoding="utf-8")

    def tutor(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "tutor.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    tutor("ingest", "--json")
    assert "citations" in tutor("ask", "When should I fine-tune instead of prompting?", "--json").stdout
    tutor("eval", "--suite", "seed", "--limit", "6", "--results", str(tmp_path / "results"))

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tutor.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    with running(server, f"{url}/healthz", 180):
        body = {"question": "What is fine-tuning good for?", "lesson_id": "fine-tuning-vs-prompting"}
        assert httpx.post(f"{url}/api/ask", json=body, timeout=60).status_code == 200
        assert httpx.get(f"{url}/", timeout=30).status_code == 200  # the Gradio page
        assert httpx.get(f"{url}/embed", params={"lesson": "fine-tuning-vs-prompting"}, timeout=30).status_code == 200
    assert log.read_text(encoding="utf-8") == "", f"outbound attempts:\n{log.read_text(encoding='utf-8')}"
