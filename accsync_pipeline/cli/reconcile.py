"""`accsync reconcile`: compare what accsync exported with what the org's ledger holds, now."""

from __future__ import annotations

import click

from accsync_pipeline.cli.org import load_org
from accsync_pipeline.cli.output import echo_json, echo_table
from accsync_pipeline.connectors.registry import connector_for
from accsync_pipeline.service.reconcile import findings_csv, reconcile_org
from accsync_pipeline.store.engine import create_engine


@click.command("reconcile")
@click.option("--org", "org_id", required=True, help="Organization slug.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the findings as CSV (for a spreadsheet).")
def command(org_id: str, as_json: bool, as_csv: bool) -> None:
    """Every exported record in the ledger exactly once, and nothing of ours without a record.

    Stores the finding (the status screen shows it) and notifies the org's administrators of a
    discrepancy. Exits 1 when the ledger does not reconcile, 2 when it cannot be read.
    """
    org = load_org(org_id)
    engine = create_engine()
    try:
        connector = connector_for(org.connector_type, org.connector_settings)
        try:
            report = reconcile_org(engine, connector, org_id, "manual")
        finally:
            connector.close()
    finally:
        engine.dispose()
    findings = report.result.findings if report.result else ()
    if as_json:
        echo_json(
            {
                "org_id": org_id,
                "checked_at": report.checked_at,
                "clean": report.clean,
                "summary": report.summary(),
                "error": report.error,
                "expected": report.result.expected if report.result else None,
                "held": report.result.held if report.result else None,
                "findings": [
                    {**f.__dict__, "record_type": report.record_types.get(f.record_id or "")}
                    for f in findings
                ],
            }
        )
    elif as_csv:
        click.echo(findings_csv(report), nl=False)
    else:
        click.echo(f"{org_id}: {report.summary()}")
        if findings:
            echo_table(
                ["KIND", "RECORD", "KEY", "POSTINGS", "DETAIL"],
                [(f.kind, f.record_id or "", f.key, f.postings, f.detail) for f in findings],
            )
    if report.error is not None:
        raise SystemExit(2)
    if not report.clean:
        raise SystemExit(1)
