"""Serve a sandbox with uvicorn: blocking (CLI, demo) or in a background thread (tests).

In a test::

    with running_sandbox(XledgerSandbox()) as sandbox:
        settings = {"base_url": sandbox.base_url, ...}
        sandbox.set_faults(resets=1)
        assert sandbox.postings()...
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import uvicorn


class Sandbox(Protocol):
    app: Any


def serve(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Serve until interrupted (Ctrl-C)."""
    uvicorn.run(sandbox.app, host=host, port=port, log_level=log_level, lifespan="off", access_log=False)


@dataclass
class RunningSandbox:
    """A sandbox served on 127.0.0.1, with its control endpoints as methods."""

    sandbox: Any
    base_url: str
    _server: uvicorn.Server
    _thread: threading.Thread
    _control: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self._control = httpx.Client(base_url=self.base_url, timeout=10)

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change the fault plan (fields of `FaultPlan`); fields not given keep their value."""
        return self._call("POST", "/_sandbox/faults", json=changes)

    def postings(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/_sandbox/postings")["postings"])

    def delete_postings(self, key: str) -> int:
        """Delete a record's postings by its key, as if by hand in the ledger."""
        return int(self._call("DELETE", "/_sandbox/postings", params={"key": key})["removed"])

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_sandbox/stats")

    def reset(self) -> None:
        self._call("POST", "/_sandbox/reset")

    def stop(self) -> None:
        self._control.close()
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._control.request(method, path, **kwargs)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def start_in_thread(sandbox: Sandbox) -> RunningSandbox:
    """Serve `sandbox` on a free port of 127.0.0.1 in a daemon thread; call `stop()` when done."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this: without it, a response written in two parts waits for
    # the client's delayed ACK (about 40 ms) under the plain asyncio loop.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    # No log_config: a test process keeps its own logging setup.
    config = uvicorn.Config(
        sandbox.app, log_config=None, log_level="warning", lifespan="off", access_log=False, loop="auto"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True, name="sandbox")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    return RunningSandbox(sandbox, f"http://127.0.0.1:{port}", server, thread)


@contextmanager
def running_sandbox(sandbox: Sandbox) -> Iterator[RunningSandbox]:
    running = start_in_thread(sandbox)
    try:
        yield running
    finally:
        running.stop()
