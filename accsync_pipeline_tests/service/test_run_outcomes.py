"""What a failed or dead run leaves behind, as the screens, the API and the alerts tell it.

A failed run keeps its counts and says why; records it left in flight are "outcome unknown"
(never "being sent") once it has ended; an org without an administrator of its own still has
someone told; `accsync alerts check` opens and resolves alerts on demand.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from accsync_pipeline.cli import root
from accsync_pipeline.domain.failures import NO_MESSAGE, cause_in_words, exception_in_words
from accsync_pipeline.domain.org import OrgConfig, User
from accsync_pipeline.domain.records import SyncStatus
from accsync_pipeline.service.alerting import evaluate_alerts, notify_run_failed
from accsync_pipeline.service.failed_records import RecordFilter, list_records
from accsync_pipeline.service.history import RunHistoryEntry, add_run_summaries
from accsync_pipeline.service.status import org_status
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store import runs as run_store
from accsync_pipeline.store import users as user_store
from accsync_pipeline.store.records import RecordResult
from accsync_pipeline.store.schema import notifications
from accsync_pipeline_tests.factories import add_sources

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
GLOBAL = User("gunn.global", "Gunn", "gunn@example.org", "global_admin", None)


def add_org(conn: sa.Connection, org_id: str, with_admin: bool = True) -> None:
    org_store.insert_org(conn, OrgConfig(org_id, org_id.upper(), "xledger", {}), NOW - timedelta(days=30))
    if with_admin:
        user_store.insert_user(
            conn, User(f"{org_id}.admin", "Admin", f"{org_id}@example.org", "org_admin", org_id)
        )


def bodies(conn: sa.Connection, user_id: str) -> list[tuple[str, str]]:
    query = sa.select(notifications.c.dedupe_key, notifications.c.body).where(
        notifications.c.user_id == user_id
    )
    return [(k, b) for k, b in conn.execute(query.order_by(notifications.c.notification_id))]


def test_a_failed_run_keeps_what_it_did_and_says_why_in_the_sync_log(engine: Engine) -> None:
    with engine.begin() as conn:
        add_org(conn, "acme")
        add_sources(conn, "acme", 2, prefix="F")
        record_store.intake(conn, "acme", NOW)
        run_store.start_run(conn, "run-1", "acme", "schedule", None, NOW)
        run_store.add_to_total(conn, "run-1", 400)
        run_store.add_progress(conn, "run-1", exported=250, skipped=1, failed=2)
        record_store.write_results(
            conn,
            [
                RecordResult(rid, "acme", SyncStatus.FAILED, error="account 9999 does not exist")
                for rid in ("F00000", "F00001")
            ],
            "run-1",
            "schedule",
            NOW,
        )
        run_store.finish_run(conn, "run-1", "failure", NOW, "Xledger answered 503 four times")
    entry = RunHistoryEntry("run-1", "FAILURE", NOW, NOW, NOW, "schedule", None)
    with engine.connect() as conn:
        add_run_summaries(conn, [entry])
        summary = run_store.find_run(conn, "run-1")
    assert summary is not None and (summary.exported, summary.skipped, summary.failed) == (250, 1, 2)
    assert (entry.exported, entry.skipped, entry.failed, entry.total) == (250, 1, 2, 400)
    assert entry.outcome == "Failed after exporting 250 of 400: Xledger answered 503 four times"
    assert [r["record_id"] for r in entry.failed_records] == ["F00000", "F00001"]
    assert entry.failed_records[0]["error"] == "account 9999 does not exist"


def test_records_left_in_flight_by_an_ended_run_are_outcome_unknown_not_being_sent(engine: Engine) -> None:
    with engine.begin() as conn:
        add_org(conn, "acme")
        add_sources(conn, "acme", 3, prefix="R")
        record_store.intake(conn, "acme", NOW)
        run_store.start_run(conn, "dead", "acme", "manual", None, NOW)
        record_store.mark_in_flight(conn, ["R00000", "R00001"], "dead", NOW)
        run_store.finish_run(conn, "dead", "failure", NOW, "the run's process stopped")
        run_store.start_run(conn, "live", "acme", "manual", None, NOW)
        record_store.mark_in_flight(conn, ["R00002"], "live", NOW)
    with engine.connect() as conn:
        _, rows = list_records(conn, "acme", RecordFilter.PENDING)
        status = org_status(conn, "acme", NOW)
    shown = {r.record_id: (r.status, r.note) for r in rows}
    unknown = ("outcome_unknown", "Outcome unknown, will be checked on the next sync")
    assert shown == {"R00000": unknown, "R00001": unknown, "R00002": ("in_flight", "Being sent now")}
    assert status is not None and status.outcome_unknown == 2

    # Once the live run has ended too, nothing is shown as being sent.
    with engine.begin() as conn:
        run_store.finish_run(conn, "live", "failure", NOW, "stopped")
    with engine.connect() as conn:
        _, rows = list_records(conn, "acme", RecordFilter.PENDING)
    assert {r.status for r in rows} == {"outcome_unknown"}


def test_an_org_without_an_administrator_alerts_the_global_admins_and_the_platform_alert_says_so(
    engine: Engine,
) -> None:
    now = NOW
    with engine.begin() as conn:
        user_store.insert_user(conn, GLOBAL)
        add_org(conn, "orphan", with_admin=False)
        add_org(conn, "acme")
        # Never taken in by any sync: no state rows, approved 50 hours ago.
        add_sources(conn, "orphan", 2, prefix="O", approved_at=now - timedelta(hours=50))
        add_sources(conn, "acme", 1, prefix="A", approved_at=now - timedelta(hours=50))
        report = evaluate_alerts(conn, now)
        notify_run_failed(conn, "orphan", "xledger", "run-9", "environment variable X is not set", now)
        told = bodies(conn, GLOBAL.user_id)
    assert set(report.opened) == {"stale_pending:orphan", "stale_pending:acme", "platform"}
    keys = [k for k, _ in told]
    assert any(k.startswith("stale_pending:orphan@") for k in keys)
    assert not any(k.startswith("stale_pending:acme@") for k in keys)  # acme's admin was told
    assert "run_failed:run-9" in keys
    [platform] = [b for k, b in told if k.startswith("platform@")]
    assert "ORPHAN" in platform and "its alerts come to you" in platform
    assert "Each organization's administrators have been told" not in platform


def test_the_48_hour_alert_counts_records_whatever_stopped_them_and_only_past_the_limit(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        add_org(conn, "acme")
        old = NOW - timedelta(hours=50)
        add_sources(conn, "acme", 4, prefix="S", approved_at=old, updated_at=old)
        record_store.intake(conn, "acme", old)
        record_store.mark_in_flight(conn, ["S00000"], "gone", old)
        record_store.write_results(
            conn,
            [
                RecordResult("S00001", "acme", SyncStatus.FAILED, error="503"),
                RecordResult("S00002", "acme", SyncStatus.EXPORTED, external_id="x"),
                RecordResult("S00003", "acme", SyncStatus.SKIPPED, skip_reason="no account"),
            ],
            "r",
            "schedule",
            old,
        )
        add_sources(conn, "acme", 1, prefix="N", approved_at=old)  # never taken in
        add_sources(conn, "acme", 1, prefix="Y", approved_at=NOW - timedelta(hours=47))  # not yet due
        report = evaluate_alerts(conn, NOW)
        [(_, body)] = [(k, b) for k, b in bodies(conn, "acme.admin") if k.startswith("stale_pending")]
    assert report.opened == ("stale_pending:acme",)
    # In flight, failed and never taken in: 3; exported, skipped and the 47-hour one do not count.
    assert body.startswith("3 approved records in ACME have waited more than 48 hours")


def test_accsync_alerts_check_prints_what_opened_and_what_resolved(
    accsync_env: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    from accsync_pipeline.store.engine import create_engine
    from accsync_pipeline.store.migrate import upgrade

    engine = create_engine()
    upgrade(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        add_org(conn, "acme")
        add_sources(conn, "acme", 2, prefix="W", approved_at=now - timedelta(hours=50))
    runner = CliRunner()
    opened = runner.invoke(root, ["alerts", "check", "--json"])
    assert opened.exit_code == 0, opened.output
    assert json.loads(opened.output)["opened"] == ["stale_pending:acme"]
    with engine.begin() as conn:
        record_store.intake(conn, "acme", now)
        record_store.write_results(
            conn,
            [RecordResult(r, "acme", SyncStatus.EXPORTED, external_id=r) for r in ("W00000", "W00001")],
            "run-ok",
            "manual",
            now,
        )
    engine.dispose()
    resolved = runner.invoke(root, ["alerts", "check"])
    assert resolved.exit_code == 0, resolved.output
    assert "resolved  stale_pending:acme" in resolved.output and "0 opened, 1 resolved" in resolved.output


@pytest.mark.parametrize(
    ("message", "classes", "words"),
    [
        (
            "dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op",
            ["DagsterExecutionStepExecutionError"],
            "Error occurred while executing op",
        ),
        (
            "accsync_pipeline.connectors.errors.ConfigurationError: environment variable X is not set\n",
            ["ConfigurationError"],
            "environment variable X is not set",
        ),
        ("(psycopg.OperationalError) connection refused\n[SQL: select 1]", [], "connection refused"),
        ("KeyError: 'org'", ["KeyError"], "'org'"),
        ("Business Central: tenant not found", [], "Business Central: tenant not found"),
        ("", ["RuntimeError"], NO_MESSAGE),
    ],
)
def test_causes_lose_their_class_names_and_keep_their_words(
    message: str, classes: list[str], words: str
) -> None:
    assert cause_in_words(message, classes) == words


def test_the_root_cause_is_the_connectors_own_words_or_the_innermost_error() -> None:
    from accsync_pipeline.connectors.errors import ConnectorError, RetriableError

    try:
        try:
            try:
                raise OSError("[Errno 111] Connection refused")
            except OSError as e:
                raise RetriableError("Xledger did not answer (connection refused)") from e
        except RetriableError as e:
            raise RuntimeError("wrapper") from e
    except RuntimeError as outer:
        assert exception_in_words(outer, (ConnectorError,)) == "Xledger did not answer (connection refused)"
        assert exception_in_words(outer) == "[Errno 111] Connection refused"
