"""`accsync notifications`: a user's notifications as a table or JSON, unread filter, unknown user."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from accsync_pipeline.cli import root
from accsync_pipeline.domain.org import OrgConfig, User
from accsync_pipeline.service.alerting import notify_run_failed
from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import users as user_store
from accsync_pipeline.store.engine import create_engine
from accsync_pipeline.store.migrate import upgrade

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def seeded(accsync_env: str) -> None:
    """HLF with one administrator holding two notifications, the older one read."""
    engine = create_engine()
    upgrade(engine)
    with engine.begin() as conn:
        org_store.insert_org(conn, OrgConfig("hlf", "HLF", "dynamics", {}), NOW)
        user_store.insert_user(conn, User("kari.admin", "Kari", "kari@example.org", "org_admin", "hlf"))
        notify_run_failed(conn, "hlf", "dynamics", "run-1", "HTTP 503", NOW)
        notify_run_failed(conn, "hlf", "dynamics", "run-2", "HTTP 401", NOW + timedelta(hours=1))
        [older] = [
            n for n in notification_store.list_for_user(conn, "kari.admin") if n.dedupe_key.endswith("1")
        ]
        notification_store.mark_read(conn, "kari.admin", NOW, older.notification_id)
    engine.dispose()


def test_lists_newest_first_in_the_org_timezone(seeded: None) -> None:
    result = CliRunner().invoke(root, ["notifications", "--user", "kari.admin"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["ID", "CREATED", "SEVERITY", "READ", "TITLE", "LINK"]
    assert "2026-11-20 14:00  critical" in lines[1] and "/orgs/hlf?status=pending" in lines[1]
    assert "2026-11-20 13:00  critical  2026-11-20 13:00  Sync of HLF" in lines[2]


def test_unread_as_json(seeded: None) -> None:
    result = CliRunner().invoke(root, ["notifications", "--user", "kari.admin", "--unread", "--json"])
    assert result.exit_code == 0, result.output
    [only] = json.loads(result.output)
    assert only["dedupe_key"] == "run_failed:run-2" and only["read_at"] is None
    assert only["created_at"] == "2026-11-20T13:00:00+00:00"
    assert "HTTP 401" in only["body"] and only["severity"] == "critical"


def test_a_user_without_notifications_gets_a_plain_line(seeded: None) -> None:
    engine = create_engine()
    with engine.begin() as conn:
        user_store.insert_user(conn, User("gunn", "Gunn", "gunn@example.org", "global_admin", None))
    engine.dispose()
    result = CliRunner().invoke(root, ["notifications", "--user", "gunn", "--unread"])
    assert result.exit_code == 0 and result.output == "no unread notifications for gunn\n"


def test_an_unknown_user_is_one_clear_line(seeded: None) -> None:
    result = CliRunner().invoke(root, ["notifications", "--user", "nobody"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: unknown user 'nobody'"
