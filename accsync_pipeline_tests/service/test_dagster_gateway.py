"""The Dagster gateway: which launcher the environment chooses, and Dagster's answers in words.

A small real HTTP server plays Dagster's webserver for the answers that a real one gives only
in rare states (a run that vanished); the launches themselves are tested against real Dagster
in `defs/test_dagster_deployment.py` and `defs/test_sync_pipeline.py`.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dagster as dg
import pytest

from accsync_pipeline.service.dagster_gateway import GraphQLLauncher, dagster_ui_url, sync_launcher
from accsync_pipeline.service.dagster_graphql import DagsterGraphQL
from accsync_pipeline.service.in_process import InProcessLauncher
from accsync_pipeline.service.launch import ACTIVE_STATUSES, TERMINAL_STATUSES, DagsterUnavailable


def test_a_dagster_url_launches_through_the_webserver_and_none_in_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACCSYNC_DAGSTER_URL", "http://dagster.example:3000")
    launcher = sync_launcher(lambda: pytest.fail("the webserver launcher needs no local instance"))
    assert isinstance(launcher, GraphQLLauncher)
    assert launcher.reserve_run_id("acme") is None  # Dagster names the run as it queues it
    launcher.close()

    monkeypatch.delenv("ACCSYNC_DAGSTER_URL")
    with dg.instance_for_test() as instance:
        local = sync_launcher(lambda: instance)
        assert isinstance(local, InProcessLauncher)
        local.close()


def test_the_ui_link_prefers_its_own_url_then_the_api_then_the_local_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ACCSYNC_DAGSTER_UI_URL", raising=False)
    monkeypatch.delenv("ACCSYNC_DAGSTER_URL", raising=False)
    assert dagster_ui_url() == "http://127.0.0.1:3000"
    monkeypatch.setenv("ACCSYNC_DAGSTER_URL", "http://dagster-webserver:80")
    assert dagster_ui_url() == "http://dagster-webserver:80"
    monkeypatch.setenv("ACCSYNC_DAGSTER_UI_URL", "https://dagster.example")
    assert dagster_ui_url() == "https://dagster.example"


def test_statuses_split_dagsters_run_states_without_overlap() -> None:
    terminal, active = TERMINAL_STATUSES, ACTIVE_STATUSES
    assert terminal == {"SUCCESS", "FAILURE", "CANCELED"}
    assert active == {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}
    assert {s.value for s in dg.DagsterRunStatus} >= ACTIVE_STATUSES | TERMINAL_STATUSES


class FakeDagster(BaseHTTPRequestHandler):
    """Answers terminateRun and the run-status query as Dagster's GraphQL API does, for one known run."""

    known_run = "run-1"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        run_id = body["variables"]["runId"]
        data: dict[str, Any]
        if "terminateRun" in body["query"]:
            if run_id == self.known_run:
                result = {
                    "__typename": "TerminateRunSuccess",
                    "run": {"runId": run_id, "status": "CANCELING"},
                }
            else:
                result = {"__typename": "RunNotFoundError", "message": f"Run {run_id} could not be found"}
            data = {"terminateRun": result}
        else:
            data = {"pipelineRunOrError": {"__typename": "Run", "status": "CANCELING"}}
        answer = json.dumps({"data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: Any) -> None:
        return None


@pytest.fixture
def fake_dagster() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeDagster)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_cancelling_answers_the_runs_new_status_or_says_why_not(fake_dagster: str) -> None:
    dagster = DagsterGraphQL(fake_dagster, timeout=5)
    try:
        assert dagster.terminate_run("run-1") == "CANCELING"
        with pytest.raises(DagsterUnavailable) as refused:
            dagster.terminate_run("run-2")
    finally:
        dagster.close()
    assert str(refused.value) == "Dagster did not cancel the run: Run Id run-2 not found"


def test_an_unreachable_webserver_is_named_without_the_query() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dagster = DagsterGraphQL(f"http://127.0.0.1:{port}", timeout=5)
    try:
        with pytest.raises(DagsterUnavailable) as unreachable:
            dagster.run_status("run-1")
    finally:
        dagster.close()
    assert (
        str(unreachable.value) == f"cannot reach Dagster at http://127.0.0.1:{port}/graphql: ConnectionError"
    )
