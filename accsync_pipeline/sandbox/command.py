"""`accsync sandbox xledger|dynamics`: serve a sandbox for the demo or by hand."""

from __future__ import annotations

from pathlib import Path

import click

from accsync_pipeline.sandbox.dynamics import DEFAULT_COMPANY_ID, DEFAULT_JOURNAL_ID, DynamicsSandbox
from accsync_pipeline.sandbox.server import serve
from accsync_pipeline.sandbox.xledger import DEFAULT_TOKEN, XledgerSandbox

_persist = click.option(
    "--persist", type=click.Path(dir_okay=False, path_type=Path), help="Keep postings in this JSON file."
)
_host = click.option("--host", default="127.0.0.1", show_default=True)
_latency = click.option("--latency-ms", default=0, show_default=True, help="Added to every API request.")


@click.group("sandbox")
def command() -> None:
    """Serve a local emulator of an accounting system's API."""


@command.command("xledger")
@click.option("--port", default=8081, show_default=True)
@_host
@click.option("--token", envvar="ACCSYNC_SANDBOX_XLEDGER_TOKEN", default=DEFAULT_TOKEN, show_default=True)
@click.option("--burst", default=10, show_default=True, help="Burst limit: requests allowed at once.")
@click.option("--burst-per-second", default=10.0, show_default=True, help="Burst refill per second.")
@click.option("--max-concurrent", default=5, show_default=True, help="Requests processed at once.")
@_latency
@_persist
def xledger(
    port: int,
    host: str,
    token: str,
    burst: int,
    burst_per_second: float,
    max_concurrent: int,
    latency_ms: int,
    persist: Path | None,
) -> None:
    """Xledger GraphQL at http://HOST:PORT/graphql."""
    sandbox = XledgerSandbox(
        token=token,
        burst=burst,
        burst_per_second=burst_per_second,
        max_concurrent=max_concurrent,
        persist_path=persist,
    )
    sandbox.faults.update({"latency_ms": latency_ms})
    click.echo(f"Xledger sandbox on http://{host}:{port}/graphql")
    serve(sandbox, host, port)


@command.command("dynamics")
@click.option("--port", default=8082, show_default=True)
@_host
@click.option("--tenant", default="sandbox-tenant", show_default=True)
@click.option("--environment", default="production", show_default=True)
@click.option("--company-id", default=DEFAULT_COMPANY_ID, show_default=True)
@click.option("--journal-id", default=DEFAULT_JOURNAL_ID, show_default=True)
@click.option("--client-id", default="accsync-sandbox", show_default=True)
@click.option(
    "--client-secret", envvar="ACCSYNC_SANDBOX_DYNAMICS_SECRET", default="sandbox-secret", show_default=True
)
@click.option("--requests-per-window", default=6000, show_default=True)
@click.option("--window-seconds", default=300.0, show_default=True)
@click.option("--max-concurrent", default=5, show_default=True, help="Requests processed at once.")
@click.option("--page-size", default=20000, show_default=True, help="Lines per page of a GET.")
@_latency
@_persist
def dynamics(
    port: int,
    host: str,
    tenant: str,
    environment: str,
    company_id: str,
    journal_id: str,
    client_id: str,
    client_secret: str,
    requests_per_window: int,
    window_seconds: float,
    max_concurrent: int,
    page_size: int,
    latency_ms: int,
    persist: Path | None,
) -> None:
    """Business Central API v2.0 at http://HOST:PORT/v2.0/TENANT/ENVIRONMENT/api/v2.0."""
    sandbox = DynamicsSandbox(
        tenant=tenant,
        environment=environment,
        company_id=company_id,
        journal_id=journal_id,
        client_id=client_id,
        client_secret=client_secret,
        requests_per_window=requests_per_window,
        window_seconds=window_seconds,
        max_concurrent=max_concurrent,
        page_size=page_size,
        persist_path=persist,
    )
    sandbox.faults.update({"latency_ms": latency_ms})
    click.echo(f"Business Central sandbox on http://{host}:{port}/v2.0/{tenant}/{environment}/api/v2.0")
    serve(sandbox, host, port)
