"""The list of every organization: health totals, then a filtered, searched, sorted page of orgs.

Health decides the list's order and its totals, so it is computed for every org, but only from
inputs that cost one grouped query each whatever the number of orgs (open record counts, the
latest ended run, the last success) and a narrow read of the orgs. The full status (schedule
and next run, reconciliation, records whose outcome is unknown) is read for the page's orgs only.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from accsync_pipeline.domain.health import Health, assess_health
from accsync_pipeline.domain.schedule import stored_schedule
from accsync_pipeline.service.status import HealthInputs, OrgStatus, health_facts, health_inputs, org_statuses
from accsync_pipeline.store.org_listing import OrgListing, org_listings

ORGS_PER_PAGE = 50
HEALTH_FILTERS = ("all", "failing", "green", "amber", "red")
ORG_SORTS = ("health", "name", "pending", "failed", "last_sync")
HEALTH_ORDER = {"red": 0, "amber": 1, "green": 2}


@dataclass(frozen=True)
class OrgRow:
    """One org as the list shows it."""

    org_id: str
    name: str
    connector_type: str
    enabled: bool
    timezone: str
    health: Health
    pending: int
    failed: int
    last_successful_sync_at: datetime | None
    running: bool


@dataclass(frozen=True)
class OrgTotals:
    orgs: int
    green: int
    amber: int
    red: int
    running: int
    pending: int
    failed: int

    @property
    def failing(self) -> int:
        return self.red + self.amber


@dataclass(frozen=True)
class OrgFilter:
    health: str = "all"  # all | failing (amber or red) | green | amber | red
    text: str = ""
    sort: str = "health"
    descending: bool = False
    page: int = 1
    per_page: int = ORGS_PER_PAGE


@dataclass(frozen=True)
class OrgListPage:
    totals: OrgTotals  # over every org the caller may see, whatever the filter
    rows: tuple[OrgRow, ...]  # the page
    matching: int
    page: int
    pages: int
    per_page: int
    # What the rows were assessed from, so that the page's full statuses need not read it again.
    inputs: HealthInputs = field(repr=False, compare=False)

    @property
    def first_shown(self) -> int:
        return 1 + (self.page - 1) * self.per_page


@functools.lru_cache(maxsize=1024)
def _cron_of(spec_json: str) -> str | None:
    """The cron of a stored schedule spec; orgs share a few distinct specs, so each is parsed once."""
    # An invalid schedule has no cron: it expects no run, and the status screen says why.
    return stored_schedule(json.loads(spec_json) or {"kind": "manual"}).to_cron()


def _row(
    org: OrgListing,
    now: datetime,
    counts: Mapping[str, int] | None,
    ended: Any,
    last_success_at: datetime | None,
    running: bool,
) -> OrgRow:
    counts = counts or {"pending": 0, "failed": 0}
    cron = _cron_of(org.schedule_json)
    facts = health_facts(now, org.enabled, org.timezone, cron, org.created_at, counts, ended, last_success_at)
    return OrgRow(
        org_id=org.org_id,
        name=org.name,
        connector_type=org.connector_type,
        enabled=org.enabled,
        timezone=org.timezone,
        health=assess_health(facts),
        pending=counts["pending"],
        failed=counts["failed"],
        last_successful_sync_at=last_success_at,
        running=running,
    )


def _rows(
    conn: sa.Connection, now: datetime, org_ids: Sequence[str] | None
) -> tuple[list[OrgRow], HealthInputs]:
    orgs = org_listings(conn, org_ids)
    scope = None if org_ids is None else [o.org_id for o in orgs]
    known = health_inputs(conn, scope)
    rows = [
        _row(
            o,
            now,
            known.counts.get(o.org_id),
            known.ended.get(o.org_id),
            known.successes.get(o.org_id),
            o.org_id in known.running,
        )
        for o in orgs
    ]
    return rows, known


def org_rows(conn: sa.Connection, now: datetime, org_ids: Sequence[str] | None = None) -> list[OrgRow]:
    """Every org's list row (the given orgs when not None), ordered by org id: six queries in all."""
    return _rows(conn, now, org_ids)[0]


def _sort_key(sort: str) -> Callable[[OrgRow], Any]:
    never = datetime.min.replace(tzinfo=UTC)
    keys: dict[str, Callable[[OrgRow], Any]] = {
        "health": lambda r: (HEALTH_ORDER.get(r.health.level.value, 3), -r.failed, r.name.lower()),
        "name": lambda r: r.name.lower(),
        "pending": lambda r: (r.pending, r.name.lower()),
        "failed": lambda r: (r.failed, r.name.lower()),
        "last_sync": lambda r: (r.last_successful_sync_at or never, r.name.lower()),
    }
    return keys[sort]


def totals_of(rows: Sequence[OrgRow]) -> OrgTotals:
    levels = {"green": 0, "amber": 0, "red": 0}
    for r in rows:
        levels[r.health.level.value] += 1
    return OrgTotals(
        orgs=len(rows),
        running=sum(1 for r in rows if r.running),
        pending=sum(r.pending for r in rows),
        failed=sum(r.failed for r in rows),
        **levels,
    )


def page_of(rows: Sequence[OrgRow], wanted: OrgFilter, inputs: HealthInputs) -> OrgListPage:
    """The totals over `rows`, and the page of them that `wanted` asks for (the last page if beyond)."""
    levels = {"failing": {"red", "amber"}, "all": None}.get(wanted.health, {wanted.health})
    needle = wanted.text.lower()
    shown = [
        r
        for r in rows
        if (levels is None or r.health.level.value in levels)
        and (not needle or needle in r.name.lower() or needle in r.org_id)
    ]
    shown.sort(key=_sort_key(wanted.sort), reverse=wanted.descending)
    size = max(1, wanted.per_page)
    pages = max(1, -(-len(shown) // size))
    page = min(wanted.page, pages)
    start = (page - 1) * size
    on_page = tuple(shown[start : start + size])
    return OrgListPage(totals_of(rows), on_page, len(shown), page, pages, size, inputs)


def org_list_page(
    conn: sa.Connection, now: datetime, wanted: OrgFilter, org_ids: Sequence[str] | None = None
) -> OrgListPage:
    rows, inputs = _rows(conn, now, org_ids)
    return page_of(rows, wanted, inputs)


def page_statuses(conn: sa.Connection, now: datetime, page: OrgListPage) -> list[OrgStatus]:
    """The full status of the page's orgs, in the page's order, from the inputs the page was built on."""
    found = {s.org_id: s for s in org_statuses(conn, now, [r.org_id for r in page.rows], page.inputs)}
    return [found[r.org_id] for r in page.rows if r.org_id in found]
