"""`accsync run` (what `make run` calls): the whole deployment on this machine, embedded defaults.

Migrates and seeds the embedded database, then starts the accounting sandboxes, Dagster's
webserver and daemon, and the admin service, prints their URLs, and stops them all on Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import click

from accsync_pipeline.sandbox.dynamics import DEFAULT_CLIENT_SECRET
from accsync_pipeline.sandbox.xledger import DEFAULT_TOKEN
from accsync_pipeline.service import demo
from accsync_pipeline.service.dagster_home import REPO_ROOT, dagster_instance, ensure_dagster_home
from accsync_pipeline.service.processes import ChildSpec, Supervisor
from accsync_pipeline.store.engine import create_engine, database_url, redact_url
from accsync_pipeline.store.migrate import upgrade

STATE_DIR = Path(".accsync")


def local_environment(dagster_port: int) -> dict[str, str]:
    """Environment of every child: one database, one Dagster home, the demo's sandbox credentials."""
    env = dict(os.environ)
    env.setdefault("ACCSYNC_DATABASE_URL", database_url())
    env["DAGSTER_HOME"] = str(ensure_dagster_home())
    env.setdefault("ACCSYNC_DAGSTER_URL", f"http://127.0.0.1:{dagster_port}")
    # The sandboxes' demo credentials; a real tenant's secrets come from the real environment.
    env.setdefault(demo.HLF_SECRET_ENV, DEFAULT_CLIENT_SECRET)
    env.setdefault(demo.BLINDEFORBUNDET_TOKEN_ENV, DEFAULT_TOKEN)
    env.setdefault("ACCSYNC_SANDBOX_DYNAMICS_SECRET", env[demo.HLF_SECRET_ENV])
    env.setdefault("ACCSYNC_SANDBOX_XLEDGER_TOKEN", env[demo.BLINDEFORBUNDET_TOKEN_ENV])
    env.setdefault("ACCSYNC_JWT_SECRET", _local_jwt_secret())
    env.setdefault("ACCSYNC_DEV_LOGIN", "1")
    return env


def _local_jwt_secret() -> str:
    """A per-machine secret for the demo's tokens, made once and kept out of the repository."""
    path = STATE_DIR / "jwt-secret"
    if not path.exists():
        STATE_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def children(python: str, accsync: list[str], ports: dict[str, int]) -> list[ChildSpec]:
    workspace = str(REPO_ROOT / "workspace.yaml")
    dagster_bin = Path(python).parent
    return [
        ChildSpec(
            "xledger-sandbox",
            [*accsync, "sandbox", "xledger", "--port", str(ports["xledger"])],
            ready_url=f"http://127.0.0.1:{ports['xledger']}/_sandbox/stats",
            shown_url=f"http://127.0.0.1:{ports['xledger']}/graphql",
        ),
        ChildSpec(
            "dynamics-sandbox",
            [
                *accsync,
                "sandbox",
                "dynamics",
                "--port",
                str(ports["dynamics"]),
                "--tenant",
                demo.DEMO_TENANT,
                "--company-id",
                demo.DEMO_COMPANY_ID,
                "--journal-id",
                demo.DEMO_JOURNAL_ID,
                "--client-id",
                demo.DEMO_CLIENT_ID,
            ],
            ready_url=f"http://127.0.0.1:{ports['dynamics']}/_sandbox/stats",
            shown_url=f"http://127.0.0.1:{ports['dynamics']}/v2.0/{demo.DEMO_TENANT}/production/api/v2.0",
        ),
        ChildSpec(
            "dagster-daemon",
            [str(dagster_bin / "dagster-daemon"), "run", "-w", workspace],
        ),
        ChildSpec(
            "dagster-webserver",
            [
                str(dagster_bin / "dagster-webserver"),
                "-w",
                workspace,
                "-h",
                "127.0.0.1",
                "-p",
                str(ports["dagster"]),
            ],
            ready_url=f"http://127.0.0.1:{ports['dagster']}/server_info",
            shown_url=f"http://127.0.0.1:{ports['dagster']}",
        ),
        ChildSpec(
            "admin-service",
            [*accsync, "web", "--port", str(ports["web"])],
            ready_url=f"http://127.0.0.1:{ports['web']}/docs",
            shown_url=f"http://127.0.0.1:{ports['web']}",
        ),
    ]


@click.command("run")
@click.option("--dagster-port", default=3000, show_default=True)
@click.option("--web-port", default=8080, show_default=True)
@click.option("--xledger-port", default=demo.XLEDGER_SANDBOX_PORT, show_default=True)
@click.option("--dynamics-port", default=demo.DYNAMICS_SANDBOX_PORT, show_default=True)
def command(dagster_port: int, web_port: int, xledger_port: int, dynamics_port: int) -> None:
    """Start everything locally (embedded SQLite, sandboxes, Dagster, admin service); Ctrl-C stops it all."""
    env = local_environment(dagster_port)
    os.environ.update(env)
    engine = create_engine(env["ACCSYNC_DATABASE_URL"])
    upgrade(engine)
    with engine.begin() as conn:
        seeded = demo.seed(conn)
    engine.dispose()
    click.echo(
        f"accsync database: {redact_url(env['ACCSYNC_DATABASE_URL'])}"
        + (" (demo data added)" if seeded else "")
    )
    # Dagster's storage is created here, once, before the webserver and the daemon both open it.
    dagster_instance().dispose()
    click.echo(f"Dagster home: {env['DAGSTER_HOME']}")

    ports = {"dagster": dagster_port, "web": web_port, "xledger": xledger_port, "dynamics": dynamics_port}
    accsync = [sys.executable, "-m", "accsync_pipeline.cli"]
    supervisor = Supervisor(env, log_dir=str(STATE_DIR / "logs"))
    stopping = False

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        started = []
        for spec in children(sys.executable, accsync, ports):
            started.append((spec, supervisor.start(spec)))
        # Each child leads its own process group; the list lets an operator (or a test) check them.
        (STATE_DIR / "run.pids").write_text("".join(f"{p.pid}\n" for _, p in started))
        for spec, process in started:
            supervisor.wait_ready(spec, process)
            if spec.shown_url:
                click.echo(f"  {spec.name:18} {spec.shown_url}")
        click.echo(f"ready. Logs in {STATE_DIR / 'logs'}. Press Ctrl-C to stop.")
        while not stopping:
            exited = supervisor.first_exited()
            if exited:
                click.echo(f"{exited[0].name} stopped (exit code {exited[1]}); stopping the rest", err=True)
                break
            time.sleep(0.5)
    except RuntimeError as e:
        click.echo(f"error: {e}; see {STATE_DIR / 'logs'}", err=True)
    finally:
        click.echo("stopping…")
        supervisor.stop_all()
        click.echo("stopped.")
