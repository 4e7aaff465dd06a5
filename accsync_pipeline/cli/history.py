"""`accsync history`: an organization's sync log, from accsync's own record of its runs.

It reads `sync_runs` (trigger, user, counts, cause) rather than Dagster's run storage, so the
command starts without importing Dagster. The admin screens show Dagster's view as well.
"""

from __future__ import annotations

import click

from accsync_pipeline.cli.org import require_org
from accsync_pipeline.cli.output import echo_json, echo_table
from accsync_pipeline.service.history import org_sync_log
from accsync_pipeline.store.engine import create_engine


@click.command("history")
@click.option("--org", "org_id", required=True, help="Organization slug.")
@click.option("--limit", default=20, show_default=True, help="How many runs, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def command(org_id: str, limit: int, as_json: bool) -> None:
    """The org's sync log: past runs, newest first."""
    engine = create_engine()
    try:
        with engine.connect() as conn:
            require_org(conn, org_id)
            entries = org_sync_log(conn, org_id, limit)
    finally:
        engine.dispose()
    if as_json:
        echo_json([{**e.__dict__, "outcome": e.outcome} for e in entries])
        return
    echo_table(
        ["STARTED (UTC)", "TRIGGER", "USER", "EXPORTED", "SKIPPED", "FAILED", "RUN", "OUTCOME"],
        [
            (
                (e.started_at or e.created_at).strftime("%Y-%m-%d %H:%M"),
                e.trigger,
                e.user_id or "",
                e.exported,
                e.skipped,
                e.failed,
                e.run_id[:8],
                e.outcome,
            )
            for e in entries
        ],
    )
