"""Orgs leave the store with schedule and settings parsed; a row that does not parse costs only its org."""

from __future__ import annotations

from datetime import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.connectors.settings import UnusableSettings, XledgerSettings
from accsync_pipeline.domain.schedule import DailySchedule, InvalidSchedule
from accsync_pipeline.service import org_config
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store.schema import organizations
from accsync_pipeline_tests.factories import NOW, sandbox_org

BAD = {"kind": "custom", "cron": "0 0 1 * 5#3"}  # accepted by older versions; Dagster cannot iterate it


def test_a_bad_stored_schedule_is_read_as_invalid_beside_good_ones_and_kept_on_save(engine: Engine) -> None:
    with engine.begin() as conn:
        org_store.insert_org(
            conn, sandbox_org("good", "xledger", {}, schedule=DailySchedule(time(2, 0))), NOW
        )
        org_store.insert_org(conn, sandbox_org("bad", "xledger", {}), NOW)
        conn.execute(organizations.update().where(organizations.c.org_id == "bad").values(schedule=BAD))
    with engine.connect() as conn:
        listed = {o.org_id: o.schedule for o in org_store.list_orgs(conn)}
    assert listed["good"] == DailySchedule(time(2, 0))
    bad = listed["bad"]
    assert isinstance(bad, InvalidSchedule) and "day-of-month" in bad.problem
    with engine.begin() as conn:
        org_config.set_enabled(conn, "bad", False)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(organizations.c.schedule).where(organizations.c.org_id == "bad")
        ).scalar()
        assert stored == BAD
        assert org_store.get_org(conn, "bad").schedule == bad


def test_settings_an_older_version_saved_are_unusable_say_why_and_are_kept_on_save(engine: Engine) -> None:
    old = {"base_url": "https://demo.xledger.net", "token_env": "BF_TOKEN", "entity": "42"}
    with engine.begin() as conn:
        org_store.insert_org(
            conn, sandbox_org("good", "xledger", {"base_url": "https://x.example", "token_env": "T"}), NOW
        )
        org_store.insert_org(conn, sandbox_org("old", "xledger", {}), NOW)
        conn.execute(
            organizations.update().where(organizations.c.org_id == "old").values(connector_settings=old)
        )
    with engine.connect() as conn:
        listed = {o.org_id: o for o in org_store.list_orgs(conn)}
    assert isinstance(listed["good"].connector_settings, XledgerSettings)
    unusable = listed["old"].connector_settings
    assert isinstance(unusable, UnusableSettings) and "entity" in unusable.problem
    check = org_config.test_connection(listed["old"])
    assert not check.ok and check.message == unusable.problem
    with engine.begin() as conn:
        org_config.set_enabled(conn, "old", False)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(organizations.c.connector_settings).where(organizations.c.org_id == "old")
        ).scalar()
    assert stored == old
