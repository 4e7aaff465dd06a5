"""`accsync reconcile` as a user runs it: a clean ledger exits 0, a discrepancy exits 1 and is named."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy.engine import Engine

from accsync_pipeline.cli import root
from accsync_pipeline.connectors.registry import connector_for
from accsync_pipeline.domain.records import idempotency_key
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service.export import RunContext, export_org
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import (  # noqa: F401
    _xledger_server,
    sandbox_secrets,
    xledger_sandbox,
    xledger_settings,
)


def test_reconcile_reports_a_record_deleted_from_the_ledger_by_hand(
    engine: Engine,
    accsync_env: str,
    xledger_sandbox: RunningSandbox,  # noqa: F811
) -> None:
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("acme", "xledger", xledger_settings(xledger_sandbox)))
        ids = add_sources(conn, "acme", 3)
        org = org_store.get_org(conn, "acme")
    connector = connector_for("xledger", org.connector_settings)
    try:
        export_org(engine, connector, org, RunContext("run-1", "manual"), ["reimbursement", "honorarium"])
    finally:
        connector.close()
    runner = CliRunner()

    clean = runner.invoke(root, ["reconcile", "--org", "acme"])
    assert clean.exit_code == 0, clean.output
    assert "all 3 exported records found in the ledger exactly once" in clean.output

    xledger_sandbox.delete_postings(idempotency_key("acme", ids[2]))
    found = runner.invoke(root, ["reconcile", "--org", "acme", "--json"])
    assert found.exit_code == 1, found.output
    answer = json.loads(found.output)
    assert answer["clean"] is False
    assert [(f["kind"], f["record_id"]) for f in answer["findings"]] == [("missing", ids[2])]
