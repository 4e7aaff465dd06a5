"""`accsync web`: the admin service (JSON API and screens) on port 8080."""

from __future__ import annotations

import click


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port.")
def command(host: str, port: int) -> None:
    """Serve the admin service: the JSON API under /api (OpenAPI at /docs) and the screens."""
    import uvicorn

    from accsync_pipeline.cli.errors import UserError
    from accsync_pipeline.web.app import create_app
    from accsync_pipeline.web.auth import AuthNotConfigured, require_configured

    try:
        require_configured()
    except AuthNotConfigured as e:
        raise UserError(f"{e} (at least 32 random bytes, e.g. `openssl rand -base64 48`)") from None

    # The access log would print request lines only; tokens travel in headers, never in URLs.
    uvicorn.run(create_app(), host=host, port=port, log_level="info")
