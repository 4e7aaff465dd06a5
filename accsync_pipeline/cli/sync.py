"""`accsync sync`: launch an organization's sync through Dagster, follow it, print what it did."""

from __future__ import annotations

import threading
import time

import click

from accsync_pipeline.cli.errors import UserError
from accsync_pipeline.cli.org import load_org
from accsync_pipeline.domain.org import ALL_RECORD_TYPES
from accsync_pipeline.domain.records import Trigger
from accsync_pipeline.domain.run_tags import VIA_CLI
from accsync_pipeline.service.dagster_gateway import sync_launcher
from accsync_pipeline.service.launch import TERMINAL_STATUSES, DagsterUnavailable, SyncLauncher, SyncRequest
from accsync_pipeline.service.run_summary import run_summary
from accsync_pipeline.service.sync_claim import launch_exclusive
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store.engine import create_engine


def _parse_types(text: str | None) -> list[str] | None:
    if text is None:
        return None
    types = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in types if t not in ALL_RECORD_TYPES]
    if unknown or not types:
        raise UserError(f"--types takes a comma-separated list of: {', '.join(ALL_RECORD_TYPES)}")
    return types


class ProgressPrinter:
    """Prints `done/total` of the org's newest run while it changes, from any process's writes."""

    def __init__(self, org_id: str) -> None:
        self._org_id = org_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._started = time.time()

    def __enter__(self) -> ProgressPrinter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        engine = create_engine()
        last = None
        while not self._stop.wait(0.5):
            with engine.connect() as conn:
                run = run_store.latest_run(conn, self._org_id)
            if run is None or run.started_at.timestamp() < self._started - 1:
                continue
            shown = (run.done, run.total)
            if shown != last:
                last = shown
                width = 30
                filled = width * run.done // run.total if run.total else 0
                click.echo(
                    f"[{'#' * filled}{'.' * (width - filled)}] {run.done}/{run.total} records", err=True
                )
        engine.dispose()


def _print_summary(run_id: str, success: bool) -> None:
    engine = create_engine()
    with engine.connect() as conn:
        summary = run_summary(conn, run_id)
    engine.dispose()
    click.echo(f"run {run_id}: {'succeeded' if success else 'FAILED'}")
    if summary is None:
        return
    click.echo(
        f"exported: {summary.exported}  skipped: {len(summary.skipped)}  failed: {len(summary.failed)}"
    )
    for record_id, reason in summary.skipped:
        click.echo(f"  skipped {record_id}: {reason}")
    for record_id, error in summary.failed:
        click.echo(f"  failed  {record_id}: {error}")


@click.command("sync")
@click.option("--org", "org_id", required=True, help="Organization slug.")
@click.option("--types", help="Comma-separated record types (default: those the org's sync includes).")
@click.option("--user", "user_id", help="Who launched it, for the sync log.")
@click.option("--wait", is_flag=True, help="Show progress until the run ends, then the summary.")
def command(org_id: str, types: str | None, user_id: str | None, wait: bool) -> None:
    """Launch an organization's sync (through Dagster's GraphQL API when ACCSYNC_DAGSTER_URL is set)."""
    org = load_org(org_id)
    if not org.enabled:
        raise UserError(
            f"{org_id}'s integration is disabled; enable it with `accsync org set {org_id} --enable`"
        )
    request = SyncRequest(org_id, Trigger.MANUAL.value, user_id, None, _parse_types(types), via=VIA_CLI)
    launcher = sync_launcher()
    engine = create_engine()
    try:
        with ProgressPrinter(org_id) if wait else _nothing():
            run_id = launch_exclusive(engine, launcher, request)
            status = _status(launcher, run_id)
            if status not in TERMINAL_STATUSES:  # queued in Dagster; an in-process run has ended already
                click.echo(f"launched run {run_id} for {org_id}")
                if not wait:
                    return
            while status not in TERMINAL_STATUSES:
                time.sleep(1)
                status = _status(launcher, run_id)
    finally:
        launcher.close()
        engine.dispose()
    _print_summary(run_id, status == "SUCCESS")
    if status != "SUCCESS":
        raise SystemExit(1)


def _status(launcher: SyncLauncher, run_id: str) -> str:
    info = launcher.run_info(run_id)
    if info is None:
        raise DagsterUnavailable(f"Dagster does not know run {run_id}")
    return info.status


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None
