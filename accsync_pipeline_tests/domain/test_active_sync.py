"""Which run is syncing an org: the rule both Dagster transports apply to the runs they fetch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accsync_pipeline.domain.active_sync import (
    ACTIVE_STATUSES,
    RunView,
    active_run_id,
    active_runs_by_org,
    run_org,
)
from accsync_pipeline.domain.run_tags import ORG_TAG, PARTITION_TAG, TRIGGER_TAG, sync_run_tags

FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


def accsync_run(run_id: str, org_id: str, status: str = "STARTED") -> RunView:
    return RunView(run_id, status, sync_run_tags(org_id, "manual"))


def ui_run(run_id: str, org_id: str, status: str = "STARTED") -> RunView:
    """Launched from the Dagster UI: only the partition names the org."""
    return RunView(run_id, status, {PARTITION_TAG: org_id})


def test_queued_counts_as_active_and_so_does_every_unfinished_status() -> None:
    assert {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"} == ACTIVE_STATUSES
    for status in sorted(ACTIVE_STATUSES):
        assert active_run_id([accsync_run("r1", "acme", status)], "acme") == "r1"
        assert active_runs_by_org([accsync_run("r1", "acme", status)]) == {"acme": "r1"}


@pytest.mark.parametrize("status", [*FINISHED, "SUSPENDED", "queued", ""])
def test_a_finished_run_or_an_unknown_status_is_not_active(status: str) -> None:
    runs = [accsync_run("done", "acme", status)]
    assert active_run_id(runs, "acme") is None
    assert active_runs_by_org(runs) == {}


def test_a_ui_run_counts_by_its_partition_and_an_accsync_run_by_either_tag() -> None:
    assert active_run_id([ui_run("ui", "acme")], "acme") == "ui"
    assert active_runs_by_org([ui_run("ui", "acme")]) == {"acme": "ui"}
    org_only = RunView("tagged", "QUEUED", {ORG_TAG: "acme", TRIGGER_TAG: "schedule"})
    assert active_run_id([org_only], "acme") == "tagged"
    assert active_runs_by_org([org_only]) == {"acme": "tagged"}


def test_runs_of_other_orgs_or_with_no_org_do_not_count() -> None:
    runs = [
        accsync_run("other", "beta"),
        RunView("untagged", "STARTED", {TRIGGER_TAG: "manual"}),
        RunView("empty", "STARTED", {ORG_TAG: "", PARTITION_TAG: ""}),
        # Another tag whose value is the org's name does not name the org.
        RunView("lookalike", "STARTED", {TRIGGER_TAG: "acme"}),
    ]
    assert active_run_id(runs, "acme") is None
    assert active_runs_by_org(runs) == {"beta": "other"}


def test_the_first_active_run_in_the_order_given_wins() -> None:
    runs = [
        accsync_run("finished", "acme", "SUCCESS"),
        ui_run("newest", "acme", "QUEUED"),
        accsync_run("older", "acme"),
        accsync_run("beta-newest", "beta", "STARTING"),
        accsync_run("beta-older", "beta"),
    ]
    assert active_run_id(runs, "acme") == "newest"
    assert active_run_id(runs, "beta") == "beta-newest"
    assert active_runs_by_org(runs) == {"acme": "newest", "beta": "beta-newest"}


def test_a_run_whose_tags_disagree_counts_for_both_orgs() -> None:
    """Admission refuses it before it syncs anything; until then neither org is launched again."""
    run = RunView("odd", "STARTING", {ORG_TAG: "acme", PARTITION_TAG: "beta"})
    assert active_run_id([run], "acme") == "odd"
    assert active_run_id([run], "beta") == "odd"
    assert active_runs_by_org([run]) == {"acme": "odd", "beta": "odd"}


def test_one_org_lookup_agrees_with_the_map_of_all_orgs() -> None:
    runs = [
        accsync_run("a1", "acme", "CANCELING"),
        ui_run("b1", "beta", "FAILURE"),
        ui_run("b2", "beta", "NOT_STARTED"),
        RunView("x", "STARTED", {ORG_TAG: "gamma", PARTITION_TAG: "acme"}),
        accsync_run("g2", "gamma", "QUEUED"),
    ]
    by_org = active_runs_by_org(runs)
    assert by_org == {"acme": "a1", "beta": "b2", "gamma": "x"}
    for org_id in ("acme", "beta", "gamma", "delta"):
        assert active_run_id(runs, org_id) == by_org.get(org_id)


def test_the_runs_are_read_only_as_far_as_the_answer() -> None:
    """A transport fetches the candidates lazily, one query per tag; a hit on the first spares the second."""
    read: list[str] = []

    def runs() -> Iterator[RunView]:
        for run in (accsync_run("first", "acme"), ui_run("second", "acme")):
            read.append(run.run_id)
            yield run

    assert active_run_id(runs(), "acme") == "first"
    assert read == ["first"]


def test_the_org_a_run_syncs_is_accsyncs_tag_else_the_partition() -> None:
    assert run_org(sync_run_tags("acme", "manual")) == "acme"
    assert run_org({PARTITION_TAG: "beta"}) == "beta"
    assert run_org({ORG_TAG: "acme", PARTITION_TAG: "beta"}) == "acme"
    assert run_org({ORG_TAG: "", PARTITION_TAG: "beta"}) == "beta"
    assert run_org({TRIGGER_TAG: "manual"}) is None
