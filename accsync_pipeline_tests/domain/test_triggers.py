"""Which orgs a sensor tick syncs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.domain.triggers import plan_approval_syncs, plan_auto_retries


def config(org_id: str, enabled: bool = True, on_approval: bool = True) -> OrgConfig:
    return OrgConfig(org_id, org_id, "xledger", {}, enabled=enabled, sync_on_approval=on_approval)


ORGS = {
    "a": config("a"),
    "b": config("b"),
    "off": config("off", enabled=False),
    "manual": config("manual", on_approval=False),
}


def test_busy_orgs_wait_and_are_launched_once_free() -> None:
    plan = plan_approval_syncs(["a", "b", "a", "off", "manual", "ghost"], [], ORGS, busy=["b"])
    assert plan.launch == ("a",)
    assert plan.waiting == ("b",)
    assert plan.ignored == ("ghost", "manual", "off")
    after = plan_approval_syncs([], plan.waiting, ORGS, busy=[])
    assert after.launch == ("b",) and after.waiting == ()


@given(
    changed=st.lists(st.sampled_from([*sorted(ORGS), "ghost"]), max_size=30),
    waiting=st.lists(st.sampled_from(sorted(ORGS)), max_size=5),
    busy=st.sets(st.sampled_from(sorted(ORGS))),
)
def test_never_launches_twice_or_for_a_busy_disabled_or_manual_org(
    changed: list[str], waiting: list[str], busy: set[str]
) -> None:
    plan = plan_approval_syncs(changed, waiting, ORGS, busy)
    assert len(plan.launch) == len(set(plan.launch))
    assert not set(plan.launch) & (busy | {"off", "manual", "ghost"})
    # Every org that wanted a run is accounted for exactly once.
    assert sorted(plan.launch + plan.waiting + plan.ignored) == sorted(set(changed) | set(waiting))


def test_auto_retries_skip_disabled_and_busy_orgs() -> None:
    assert plan_auto_retries(["a", "b", "off", "ghost"], ORGS, busy=["b"]) == ("a",)


def test_runs_per_tick_are_capped_and_the_orgs_left_over_go_first_next_tick() -> None:
    from accsync_pipeline.domain.triggers import cap_launches

    wanted = [f"org_{i:03d}" for i in range(60)]
    first, rest = cap_launches(wanted, [], limit=25)
    assert first == tuple(wanted[:25]) and rest == tuple(wanted[25:])
    second, rest2 = cap_launches([*wanted[25:], "new"], rest, limit=25)
    assert second == tuple(wanted[25:50])
    assert rest2 == (*wanted[50:], "new")
    # An org carried over that no longer wants a run drops out.
    assert cap_launches(["b"], ["a", "b"], limit=25) == (("b",), ())
