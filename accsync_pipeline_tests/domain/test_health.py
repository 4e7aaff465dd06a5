"""Health rules: green, amber or red from the last sync and success, pending records and the schedule."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accsync_pipeline.domain.health import Health, HealthFacts, HealthLevel, LastSync, assess_health

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # 13:00 in Oslo
DAILY_0200 = "0 2 * * *"  # 01:00 UTC in November


def facts(**overrides: object) -> HealthFacts:
    base = HealthFacts(
        now=NOW,
        enabled=True,
        last_sync=LastSync(NOW - timedelta(hours=1), succeeded=True, failed_records=0),
        last_success_at=NOW - timedelta(hours=1),
        pending=0,
        cron=None,
        timezone="Europe/Oslo",
        watched_since=NOW - timedelta(days=30),
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def test_green_when_the_last_sync_completed_without_failures() -> None:
    health = assess_health(facts())
    assert health.level == HealthLevel.GREEN
    assert "no failed records" in health.reason


def test_amber_when_the_last_sync_had_failed_records() -> None:
    health = assess_health(facts(last_sync=LastSync(NOW - timedelta(hours=1), True, 3)))
    assert health.level == HealthLevel.AMBER
    assert "3 records failed" in health.reason


def test_amber_names_one_record_in_the_singular() -> None:
    health = assess_health(facts(last_sync=LastSync(NOW - timedelta(hours=1), True, 1)))
    assert "1 record failed" in health.reason


def test_amber_when_the_last_run_itself_failed_but_a_success_is_recent() -> None:
    health = assess_health(
        facts(
            last_sync=LastSync(NOW - timedelta(minutes=5), False, 0), last_success_at=NOW - timedelta(hours=3)
        )
    )
    assert health.level == HealthLevel.AMBER
    assert health.reason.startswith("The last sync failed.")


def test_red_when_records_are_pending_and_no_success_within_24_hours() -> None:
    health = assess_health(facts(last_success_at=NOW - timedelta(hours=25), pending=4))
    assert health.level == HealthLevel.RED
    assert "last 24 hours" in health.reason and "4 records are pending" in health.reason


def test_red_when_never_synced_and_records_are_pending() -> None:
    health = assess_health(facts(last_sync=None, last_success_at=None, pending=1))
    assert health.level == HealthLevel.RED
    assert health.reason.startswith("No successful sync yet") and "1 record is pending" in health.reason


def test_red_when_a_scheduled_run_fell_due_after_the_last_success() -> None:
    # Last success two days ago at 01:30 UTC; the 02:00 Oslo run fell due since then.
    health = assess_health(facts(last_success_at=NOW - timedelta(days=2), cron=DAILY_0200))
    assert health.level == HealthLevel.RED
    assert "a scheduled sync was due" in health.reason


def test_red_wins_over_amber() -> None:
    health = assess_health(
        facts(
            last_sync=LastSync(NOW - timedelta(hours=30), True, 2),
            last_success_at=NOW - timedelta(hours=30),
            pending=2,
        )
    )
    assert health.level == HealthLevel.RED


def test_not_red_when_nothing_was_expected() -> None:
    # Weekly on Friday 16:00; last success a week ago Friday 16:05; today is Friday 13:00: not due yet.
    weekly = "0 16 * * 5"
    last = datetime(2026, 11, 13, 15, 5, tzinfo=UTC)
    health = assess_health(facts(last_success_at=last, last_sync=LastSync(last, True, 0), cron=weekly))
    assert health.level == HealthLevel.GREEN


def test_a_success_within_24_hours_is_never_red() -> None:
    health = assess_health(
        facts(last_success_at=NOW - timedelta(hours=23, minutes=59), pending=10, cron=DAILY_0200)
    )
    assert health.level == HealthLevel.GREEN


def test_exactly_24_hours_is_still_within() -> None:
    assert (
        assess_health(facts(last_success_at=NOW - timedelta(hours=24), pending=1)).level == HealthLevel.GREEN
    )
    assert (
        assess_health(facts(last_success_at=NOW - timedelta(hours=24, seconds=1), pending=1)).level
        == HealthLevel.RED
    )


def test_a_disabled_integration_is_never_red() -> None:
    health = assess_health(
        facts(enabled=False, last_success_at=None, last_sync=None, pending=5, cron=DAILY_0200)
    )
    assert health.level == HealthLevel.GREEN
    assert "disabled" in health.reason


def test_never_synced_with_nothing_due_is_green() -> None:
    health = assess_health(
        facts(last_sync=None, last_success_at=None, watched_since=NOW - timedelta(hours=1))
    )
    assert health.level == HealthLevel.GREEN
    assert "No sync has run yet" in health.reason


def test_never_synced_looks_for_due_runs_since_set_up() -> None:
    recent = facts(
        last_sync=None, last_success_at=None, cron=DAILY_0200, watched_since=NOW - timedelta(hours=2)
    )
    assert assess_health(recent).level == HealthLevel.GREEN  # 02:00 Oslo was before set-up
    older = dataclasses.replace(recent, watched_since=NOW - timedelta(hours=12))
    assert assess_health(older).level == HealthLevel.RED


@given(
    since_success=st.one_of(st.none(), st.integers(min_value=0, max_value=14 * 24 * 60)),
    pending=st.integers(min_value=0, max_value=5),
    last_failed=st.one_of(st.none(), st.integers(min_value=0, max_value=5)),
    last_ok=st.booleans(),
    enabled=st.booleans(),
    cron=st.sampled_from([None, DAILY_0200, "0 16 * * 5", "*/15 * * * *"]),
    unresolved=st.integers(min_value=0, max_value=3),
    set_up_hours_ago=st.integers(min_value=0, max_value=24 * 60),
)
def test_the_level_follows_the_rules(
    since_success: int | None,
    pending: int,
    last_failed: int | None,
    last_ok: bool,
    enabled: bool,
    cron: str | None,
    unresolved: int,
    set_up_hours_ago: int,
) -> None:
    success_at = None if since_success is None else NOW - timedelta(minutes=since_success)
    last = None if last_failed is None else LastSync(NOW - timedelta(minutes=1), last_ok, last_failed)
    set_up = NOW - timedelta(hours=set_up_hours_ago)
    f = facts(
        last_success_at=success_at,
        last_sync=last,
        pending=pending,
        enabled=enabled,
        cron=cron,
        unresolved_failed=unresolved,
        watched_since=set_up,
    )
    health = assess_health(f)
    day = timedelta(hours=24)
    recent_success = success_at is not None and NOW - success_at <= day
    pending_overdue = pending > 0 and NOW - (success_at or set_up) > day
    if health.level == HealthLevel.RED:
        assert enabled and not recent_success and (pending_overdue or cron is not None)
    elif enabled and not recent_success and pending_overdue:
        pytest.fail("pending records without a recent success must be red")
    elif unresolved or (last is not None and (not last.succeeded or last.failed_records)):
        assert health.level == HealthLevel.AMBER
    else:
        assert health.level == HealthLevel.GREEN
    assert health.reason.endswith(".")


DAY_AGO = NOW - timedelta(hours=24, minutes=1)
OK_RECENT = LastSync(NOW - timedelta(hours=1), True, 0)


@pytest.mark.parametrize(
    ("case", "overrides", "level", "words"),
    [
        ("last sync clean, nothing open", {}, "green", "completed with no failed records"),
        (
            "failed records remain after a later sync with nothing to send",
            {"last_sync": OK_RECENT, "unresolved_failed": 6},
            "amber",
            "6 records failed and are not resolved yet",
        ),
        (
            "one failed record remains",
            {"unresolved_failed": 1},
            "amber",
            "1 record failed and is not resolved yet",
        ),
        (
            "last sync had failed records, more remain from before",
            {"last_sync": LastSync(NOW - timedelta(hours=1), True, 2), "unresolved_failed": 5},
            "amber",
            "The last sync had 2 records failed. 5 records failed and are not resolved yet",
        ),
        (
            "last sync had failed records",
            {"last_sync": LastSync(NOW - timedelta(hours=1), True, 2), "unresolved_failed": 2},
            "amber",
            "The last sync had 2 records failed",
        ),
        (
            "last run failed, cause in words",
            {
                "last_sync": LastSync(
                    NOW - timedelta(minutes=5), False, 0, "environment variable HLF_BC_SECRET is not set"
                ),
            },
            "amber",
            "The last sync failed: environment variable HLF_BC_SECRET is not set.",
        ),
        (
            "schedule due, no success for 24 h",
            {"last_success_at": NOW - timedelta(days=2), "cron": DAILY_0200},
            "red",
            "a scheduled sync was due",
        ),
        (
            "records pending, no success for 24 h",
            {"last_success_at": DAY_AGO, "pending": 3},
            "red",
            "3 records are pending",
        ),
        (
            "red names the cause of the failed last sync",
            {
                "last_success_at": DAY_AGO,
                "pending": 3,
                "last_sync": LastSync(
                    NOW - timedelta(minutes=5), False, 0, "environment variable X is not set"
                ),
            },
            "red",
            "The last sync failed: environment variable X is not set.",
        ),
        (
            "red wins over unresolved failures",
            {"last_success_at": DAY_AGO, "pending": 3, "unresolved_failed": 2},
            "red",
            "No successful sync in the last 24 hours",
        ),
        (
            "new manual-only org, nothing pending",
            {"last_sync": None, "last_success_at": None, "watched_since": NOW - timedelta(minutes=1)},
            "green",
            "No sync has run yet",
        ),
        (
            "new manual-only org with records already pending: given its first day",
            {
                "last_sync": None,
                "last_success_at": None,
                "pending": 4,
                "watched_since": NOW - timedelta(minutes=1),
            },
            "green",
            "No sync has run yet; 4 records are waiting for it.",
        ),
        (
            "manual-only org set up a day ago, records pending, never synced",
            {"last_sync": None, "last_success_at": None, "pending": 4, "watched_since": DAY_AGO},
            "red",
            "No successful sync yet, although 4 records are pending",
        ),
        (
            "manual-only org, nothing pending, last success a week ago",
            {
                "last_sync": LastSync(NOW - timedelta(days=7), True, 0),
                "last_success_at": NOW - timedelta(days=7),
            },
            "green",
            "completed with no failed records",
        ),
        (
            "disabled, pending and overdue: never red",
            {"enabled": False, "last_success_at": None, "last_sync": None, "pending": 5, "cron": DAILY_0200},
            "green",
            "disabled",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_health_table(case: str, overrides: dict[str, object], level: str, words: str) -> None:
    health = assess_health(facts(**overrides))
    assert (health.level.value, words in health.reason) == (level, True), health.reason


FAILED_RUN = LastSync(NOW - timedelta(minutes=5), False, 0, "Xledger refused VAT code EX.")


@pytest.mark.parametrize(
    ("case", "overrides", "level", "reason"),
    [
        (
            "schedule due and records pending, no success for 24 h",
            {"last_success_at": NOW - timedelta(days=2), "cron": DAILY_0200, "pending": 2},
            "red",
            "No successful sync in the last 24 hours, although a scheduled sync was due and 2 records "
            "are pending.",
        ),
        (
            "red, and the last run failed with a cause that ends in a full stop",
            {"last_success_at": DAY_AGO, "pending": 1, "last_sync": FAILED_RUN},
            "red",
            "No successful sync in the last 24 hours, although 1 record is pending. "
            "The last sync failed: Xledger refused VAT code EX.",
        ),
        (
            "the last run failed, with failed records left from before",
            {"last_sync": FAILED_RUN, "unresolved_failed": 3},
            "amber",
            "The last sync failed: Xledger refused VAT code EX. Records it did not post will be sent by "
            "the next sync. 3 records failed and are not resolved yet; retry once the cause is fixed.",
        ),
        (
            "the last sync's failed records are all that is unresolved",
            {"last_sync": LastSync(NOW - timedelta(hours=1), True, 2), "unresolved_failed": 2},
            "amber",
            "The last sync had 2 records failed.",
        ),
        (
            "the last sync's failed records were retried and put right since",
            {"last_sync": LastSync(NOW - timedelta(hours=1), True, 2), "unresolved_failed": 0},
            "amber",
            "The last sync had 2 records failed.",
        ),
        (
            "disabled before its first sync",
            {"enabled": False, "last_sync": None, "last_success_at": None},
            "green",
            "The integration is disabled, so no sync is expected.",
        ),
        (
            "disabled after a clean sync",
            {"enabled": False},
            "green",
            "The last sync completed with no failed records. The integration is disabled.",
        ),
        (
            "enabled after a clean sync, new records already pending",
            {"pending": 3},
            "green",
            "The last sync completed with no failed records.",
        ),
        (
            "new org, nothing waiting",
            {"last_sync": None, "last_success_at": None, "watched_since": NOW},
            "green",
            "No sync has run yet, and none is due.",
        ),
        (
            "new org, one record waiting",
            {"last_sync": None, "last_success_at": None, "pending": 1, "watched_since": NOW},
            "green",
            "No sync has run yet; 1 record is waiting for it.",
        ),
        (
            "new org, two records waiting",
            {"last_sync": None, "last_success_at": None, "pending": 2, "watched_since": NOW},
            "green",
            "No sync has run yet; 2 records are waiting for it.",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_health_reasons_word_for_word(
    case: str, overrides: dict[str, object], level: str, reason: str
) -> None:
    assert assess_health(facts(**overrides)) == Health(HealthLevel(level), reason), case


def test_a_scheduled_run_falling_due_this_very_minute_is_due() -> None:
    at_run = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 02:00 in Oslo
    due_now = facts(now=at_run, last_success_at=at_run - timedelta(days=2), cron=DAILY_0200)
    assert assess_health(due_now).level == HealthLevel.RED
    before = dataclasses.replace(due_now, now=at_run - timedelta(seconds=1))
    assert assess_health(before).level == HealthLevel.RED  # yesterday's run was due too
    first = facts(
        now=at_run,
        last_sync=None,
        last_success_at=None,
        cron=DAILY_0200,
        watched_since=at_run - timedelta(hours=2),
    )
    assert assess_health(first).level == HealthLevel.RED
    assert (
        assess_health(dataclasses.replace(first, now=at_run - timedelta(seconds=1))).level
        == HealthLevel.GREEN
    )


def test_a_success_exactly_24_hours_ago_is_recent_even_with_a_run_due_since() -> None:
    # Success at 02:00 Oslo yesterday: today's 02:00 run is due, but the success is 24 hours old only.
    at_run = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    day = facts(now=at_run, last_success_at=at_run - timedelta(hours=24), cron=DAILY_0200)
    assert assess_health(day).level == HealthLevel.GREEN
    late = dataclasses.replace(day, now=at_run + timedelta(seconds=1))
    assert assess_health(late).level == HealthLevel.RED


def test_a_new_org_gets_exactly_24_hours_before_its_pending_records_make_it_red() -> None:
    new = facts(last_sync=None, last_success_at=None, pending=1, watched_since=NOW - timedelta(hours=24))
    assert assess_health(new).level == HealthLevel.GREEN
    older = dataclasses.replace(new, watched_since=NOW - timedelta(hours=24, seconds=1))
    assert assess_health(older).level == HealthLevel.RED
