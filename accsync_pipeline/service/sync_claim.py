"""One sync per org, whoever asks: claim the org atomically, then launch, then name the run.

Of any number of concurrent Sync Now, retry or CLI requests for an org, exactly one claims
it (one row per org, see `store.claims`) and launches; the others get `SyncAlreadyRunning`
with the run's id. The Dagster run-tag concurrency limit stays as the second guard, for runs
that schedules, sensors and the Dagster UI launch without asking accsync.

A claim ends with its run: closing the run's sync-log row frees it. A claim left behind by a
launcher that died, or by a run that ended without closing its row, is taken over by the
next request once Dagster says the run is over (or never began).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from accsync_pipeline.service.launch import (
    TERMINAL_STATUSES,
    DagsterRuns,
    SyncAlreadyRunning,
    SyncLauncher,
    SyncRequest,
)
from accsync_pipeline.store import claims as claim_store
from accsync_pipeline.store.claims import Claim

# How long a claim may stay without a run in Dagster: a launch takes well under this.
LAUNCH_GRACE = timedelta(seconds=60)
# How long a refused request waits for the winner's launch to name its run id.
RUN_ID_WAIT_SECONDS = 10.0


def _now() -> datetime:
    return datetime.now(UTC)


def claim_is_over(claim: Claim, dagster: DagsterRuns, now: datetime) -> bool:
    """The claim's run ended (or never came to be): the org is free whatever the row says."""
    if claim.run_id is not None:
        info = dagster.run_info(claim.run_id)
        if info is not None:
            return info.status in TERMINAL_STATUSES
    return now - claim.claimed_at > LAUNCH_GRACE


def claim_org(
    engine: Engine,
    dagster: DagsterRuns,
    org_id: str,
    run_id: str | None = None,
    clock: Callable[[], datetime] = _now,
) -> str:
    """Claim the org for one launch; returns the claim token, or raises SyncAlreadyRunning.

    `run_id` is given when the caller chooses it (in-process runs); a GraphQL launch learns
    it afterwards and names it with `attach_run`.
    """
    token = uuid.uuid4().hex
    for _ in range(5):
        with engine.begin() as conn:
            if claim_store.try_claim(conn, org_id, token, run_id, clock()):
                break
            held = claim_store.find_claim(conn, org_id)
        if held is None:
            continue  # released between the two statements: try again
        if claim_is_over(held, dagster, clock()):
            with engine.begin() as conn:
                if claim_store.take_over(conn, org_id, held.claim_token, token, run_id, clock()):
                    break
            continue
        raise SyncAlreadyRunning(org_id, _wait_for_run_id(engine, held))
    else:
        raise SyncAlreadyRunning(org_id, "being launched")
    # The claim is ours; a run that a schedule, a sensor or the Dagster UI launched may still be active.
    try:
        active = dagster.active_run_id(org_id)
    except BaseException:
        release(engine, org_id, token)
        raise
    if active is not None and active != run_id:
        release(engine, org_id, token)
        raise SyncAlreadyRunning(org_id, active)
    return token


def _wait_for_run_id(engine: Engine, held: Claim) -> str:
    """The winner's run id; a claim whose launch is under way names it within a second or so."""
    deadline = time.monotonic() + RUN_ID_WAIT_SECONDS
    claim: Claim | None = held
    while claim is not None and claim.run_id is None and time.monotonic() < deadline:
        time.sleep(0.1)
        with engine.connect() as conn:
            claim = claim_store.find_claim(conn, held.org_id)
    if claim is not None and claim.run_id is not None:
        return claim.run_id
    return held.run_id or "being launched"


def attach_run(engine: Engine, org_id: str, token: str, run_id: str) -> None:
    with engine.begin() as conn:
        claim_store.attach_run(conn, org_id, token, run_id)


def release(engine: Engine, org_id: str, token: str) -> None:
    with engine.begin() as conn:
        claim_store.release(conn, org_id, token)


def launch_exclusive(
    engine: Engine,
    launcher: SyncLauncher,
    request: SyncRequest,
    prepare: Callable[[SyncRequest], SyncRequest] | None = None,
) -> str:
    """Claim the org, let `prepare` finish the request (a retry releases its records), launch it.

    The one way Sync Now, retry and `accsync sync` start a run, whichever launcher carries it.
    Returns the run's id. Anything that stops the launch gives the claim back, so a refusal
    never holds the org.
    """
    reserved = launcher.reserve_run_id(request.org_id)
    token = claim_org(engine, launcher, request.org_id, reserved)
    try:
        if prepare is not None:
            request = prepare(request)
        run_id = launcher.launch_sync(request, reserved)
    except BaseException:
        release(engine, request.org_id, token)
        raise
    if reserved is not None:
        # The run was executed here and has ended; closing its row freed the claim, unless it
        # ended before it had one (a refused run).
        release(engine, request.org_id, token)
    else:
        attach_run(engine, request.org_id, token, run_id)
    return run_id
