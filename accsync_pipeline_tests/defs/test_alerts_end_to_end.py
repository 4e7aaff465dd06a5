"""A failing accounting system, seen by the people responsible: each alert once, then its resolution once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy.engine import Engine

from accsync_pipeline.domain.org import User
from accsync_pipeline.domain.records import idempotency_key
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service import in_process
from accsync_pipeline.service.alerting import evaluate_alerts
from accsync_pipeline.service.launch import SyncRequest
from accsync_pipeline.store import notifications as notification_store
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store import users as user_store
from accsync_pipeline_tests.factories import add_org_with_admin, add_sources, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import dynamics_settings


def titles(engine: Engine, user_id: str) -> list[str]:
    with engine.connect() as conn:
        return [n.title for n in reversed(notification_store.list_for_user(conn, user_id))]


def evaluate(engine: Engine) -> None:
    with engine.begin() as conn:
        evaluate_alerts(conn, datetime.now(UTC))


def retry_all(engine: Engine, instance: dg.DagsterInstance, user: str) -> None:
    with engine.begin() as conn:
        ids = record_store.release_for_manual_retry(conn, "acme", None, datetime.now(UTC))
    _, success = in_process.run_sync(instance, SyncRequest("acme", "retry", user, record_ids=ids))
    assert success


def test_rejections_alert_the_org_and_the_platform_once_and_resolve_once(
    engine: Engine, accsync_env: str, dagster_instance: dg.DagsterInstance, dynamics_sandbox: RunningSandbox
) -> None:
    with engine.begin() as conn:
        admin = add_org_with_admin(conn, sandbox_org("acme", "dynamics", dynamics_settings(dynamics_sandbox)))
        user_store.insert_user(conn, User("root", "Global Admin", "root@example.org", "global_admin", None))
        # Approved an hour ago: the 48-hour rule must stay quiet, only the rejections alert.
        approved = datetime.now(UTC) - timedelta(hours=1)
        ids = add_sources(conn, "acme", 12, approved_at=approved, updated_at=approved)
    dynamics_sandbox.set_faults(
        reject_keys={idempotency_key("acme", rid): "BadRequest_InvalidAccount" for rid in ids}
    )

    _, success = in_process.run_sync(dagster_instance, SyncRequest("acme", "manual", admin.user_id))
    assert success  # rejected records fail the records, not the run
    evaluate(engine)
    evaluate(engine)
    org_titles, global_titles = titles(engine, admin.user_id), titles(engine, "root")
    assert len(org_titles) == 1 and len(global_titles) == 1  # 12 errors in 24 h: more than 10
    assert org_titles == global_titles

    retry_all(engine, dagster_instance, admin.user_id)
    evaluate(engine)
    assert len(titles(engine, admin.user_id)) == 1  # two failures each: not yet three
    retry_all(engine, dagster_instance, admin.user_id)
    evaluate(engine)
    evaluate(engine)
    after_third = titles(engine, admin.user_id)
    assert len(after_third) == 2  # third consecutive failure of each record: one alert for the org
    assert len(titles(engine, "root")) == 1  # that rule is for org administrators only

    dynamics_sandbox.set_faults(reject_keys={})
    retry_all(engine, dagster_instance, admin.user_id)
    evaluate(engine)
    evaluate(engine)
    final_org, final_global = titles(engine, admin.user_id), titles(engine, "root")
    assert len(final_org) == 4 and len(final_global) == 2  # one resolution per alert, once
    assert all("resolved" in t.lower() for t in final_org[2:] + final_global[1:])
    assert len(dynamics_sandbox.postings()) == 12
