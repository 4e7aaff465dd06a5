"""A new cron whose reload was lost heals: the reconciliation sensor sees it has no schedule and reloads.

An org moving between two crons that both have a schedule is no drift: the ticks read the orgs.
"""

from __future__ import annotations

import dagster as dg
import pytest

from accsync_pipeline.defs import schedules
from accsync_pipeline.defs.schedule_plan import desired_schedules, schedule_drift
from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.schedule import stored_schedule


def org(org_id: str, **overrides: object) -> OrgConfig:
    """An org as the store gives it: the schedule parsed from its stored spec."""
    values: dict[str, object] = {
        "org_id": org_id,
        "name": org_id,
        "connector_type": "dynamics",
        "connector_settings": {},
        "schedule": {"kind": "daily", "time": "02:00"},
    }
    values.update(overrides)
    values["schedule"] = stored_schedule(values["schedule"])  # type: ignore[arg-type]
    return OrgConfig(**values)  # type: ignore[arg-type]


OSLO_0200 = ("0 2 * * *", "Europe/Oslo")
OSLO_0400 = ("0 4 * * *", "Europe/Oslo")


def test_drift_names_each_cron_without_a_schedule_and_each_schedule_without_an_org() -> None:
    built = {OSLO_0200: ("hlf",), ("0 3 * * *", "Europe/Oslo"): ("gone",)}
    wanted = desired_schedules(
        [
            org("hlf", schedule={"kind": "daily", "time": "04:00"}),
            org("new"),
            org("also_new"),
            org("off", enabled=False),
            org("manual", schedule={"kind": "manual"}),
            org("broken", schedule={"kind": "custom", "cron": "0 0 1 * 5#3"}),
            org("local", timezone="localtime"),
        ]
    )
    assert wanted == {OSLO_0200: ("new", "also_new"), OSLO_0400: ("hlf",)}
    assert schedule_drift(built, wanted) == [
        "sync_daily_0300_europe_oslo: no organization uses '0 3 * * *' (Europe/Oslo) any more",
        "sync_daily_0400_europe_oslo: Dagster has no schedule for '0 4 * * *' (Europe/Oslo), used by hlf",
    ]
    assert schedule_drift(wanted, wanted) == []
    # Orgs trading places between two crons that both have a schedule: nothing to reload.
    assert schedule_drift({OSLO_0200: ("hlf",), OSLO_0400: ("new",)}, wanted) == []


def test_the_sensor_reloads_only_when_the_set_of_crons_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    reloads: list[str] = []
    monkeypatch.setattr(schedules, "_built", {OSLO_0200: ("hlf",), OSLO_0400: ("bf",)})

    def reload() -> str:
        reloads.append("x")
        return "code location reloaded"

    monkeypatch.setattr(schedules, "_reload_location", reload)

    class Orgs:
        # hlf moved to bf's cron and bf to hlf's: both crons still have their schedule.
        current = [org("hlf", schedule={"kind": "daily", "time": "04:00"}), org("bf")]

    monkeypatch.setattr("accsync_pipeline.store.orgs.list_orgs", lambda conn: Orgs.current)
    monkeypatch.setattr(schedules, "shared_engine", _FakeEngine)
    result = schedules.schedule_reconciliation_sensor(dg.build_sensor_context())
    assert isinstance(result, dg.SkipReason)
    assert "cover every scheduled organization" in (result.skip_message or "") and reloads == []
    Orgs.current = [org("hlf", schedule={"kind": "daily", "time": "05:00"}), org("bf")]
    result = schedules.schedule_reconciliation_sensor(dg.build_sensor_context())
    assert isinstance(result, dg.SkipReason) and "code location reloaded" in (result.skip_message or "")
    assert "sync_daily_0500_europe_oslo" in (result.skip_message or "") and reloads == ["x"]


class _FakeEngine:
    """Only `connect()` as a context manager; the store function is replaced."""

    def connect(self) -> _FakeEngine:
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None
