"""A reload lost after a saved schedule change heals: the reconciliation sensor sees the drift and reloads."""

from __future__ import annotations

import dagster as dg
import pytest

from accsync_pipeline.defs import schedules
from accsync_pipeline.defs.schedules import desired_schedules, schedule_drift
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


def test_drift_names_each_org_whose_schedule_differs() -> None:
    built = {"hlf": ("0 2 * * *", "Europe/Oslo"), "gone": ("0 3 * * *", "Europe/Oslo")}
    wanted = desired_schedules(
        [
            org("hlf", schedule={"kind": "daily", "time": "04:00"}),
            org("new"),
            org("off", enabled=False),
            org("manual", schedule={"kind": "manual"}),
            org("broken", schedule={"kind": "custom", "cron": "0 0 1 * 5#3"}),
            org("local", timezone="localtime"),
        ]
    )
    assert wanted == {"hlf": ("0 4 * * *", "Europe/Oslo"), "new": ("0 2 * * *", "Europe/Oslo")}
    drift = schedule_drift(built, wanted)
    assert [line.split(":")[0] for line in drift] == ["gone", "hlf", "new"]
    assert schedule_drift(wanted, wanted) == []


def test_the_sensor_reloads_when_the_database_moved_on(monkeypatch: pytest.MonkeyPatch) -> None:
    reloads: list[str] = []
    monkeypatch.setattr(schedules, "_built", {"hlf": ("0 2 * * *", "Europe/Oslo")})

    def reload() -> str:
        reloads.append("x")
        return "code location reloaded"

    monkeypatch.setattr(schedules, "_reload_location", reload)

    class Orgs:
        current = [org("hlf", schedule={"kind": "daily", "time": "04:00"})]

    monkeypatch.setattr("accsync_pipeline.store.orgs.list_orgs", lambda conn: Orgs.current)
    monkeypatch.setattr(schedules, "shared_engine", _FakeEngine)
    result = schedules.schedule_reconciliation_sensor(dg.build_sensor_context())
    assert isinstance(result, dg.SkipReason) and "code location reloaded" in (result.skip_message or "")
    assert reloads == ["x"]
    Orgs.current = [org("hlf")]
    result = schedules.schedule_reconciliation_sensor(dg.build_sensor_context())
    assert isinstance(result, dg.SkipReason)
    assert "match the database" in (result.skip_message or "") and reloads == ["x"]


class _FakeEngine:
    """Only `connect()` as a context manager; the store function is replaced."""

    def connect(self) -> _FakeEngine:
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None
