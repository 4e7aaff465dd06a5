"""Faults a test or demo can inject into a sandbox through `POST /_sandbox/faults`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from starlette.types import Receive, Scope, Send


class FaultPlan(BaseModel):
    """What goes wrong next. Counters apply to posting requests only and count down as used."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(default=0, ge=0, description="Least time every API request spends in the server.")
    throttle: int = Field(default=0, ge=0, description="Next N postings are throttled (nothing stored).")
    throttle_retry_after: float = Field(
        default=1.0, ge=0, description="Seconds the throttle answer asks to wait."
    )
    server_errors: int = Field(
        default=0, ge=0, description="Next N postings answer server_error_status, unstored."
    )
    server_error_status: int = Field(default=503, ge=500, le=599)
    resets: int = Field(default=0, ge=0, description="Next N postings: connection closed before processing.")
    drop_after_commit: int = Field(
        default=0, ge=0, description="Next N postings: stored, then connection closed."
    )
    stall_after_commit: int = Field(default=0, ge=0, description="Next N postings: stored, answer delayed.")
    stall_ms: int = Field(
        default=0, ge=0, description="Delay of a stalled answer (beyond the client's timeout)."
    )
    reject_keys: dict[str, str] = Field(
        default_factory=dict,
        description="Idempotency key -> error code: those records are refused as invalid.",
    )
    line_faults: int = Field(
        default=0, ge=0, description="Business Central: next N batch lines fail on their own."
    )
    line_fault_status: int = Field(default=504, ge=400, le=599)
    line_fault_commits: bool = Field(
        default=True, description="Whether a failing batch line was stored first."
    )
    post_journal_every: int = Field(
        default=0,
        ge=0,
        description="Business Central: post the journal after every N stored lines, as an accountant "
        "may do mid-sync (lines move to general ledger entries); 0 = never.",
    )
    # Xledger only; defaults are the worst case Xledger's documentation allows (see sandbox/xledger.py).
    partial_commit: bool = Field(
        default=True,
        description="Xledger: a mutation with invalid inputs still stores its valid ones (not atomic).",
    )
    name_bad_inputs: bool = Field(
        default=False, description="Xledger: errors name each invalid input in extensions.clientId."
    )
    partial_data: bool = Field(
        default=False,
        description="Xledger: an errored mutation answers the stored inputs as data, instead of data null.",
    )
    timeout_after_commit: int = Field(
        default=0,
        ge=0,
        description="Xledger: next N mutations are stored, then answered 'Your query timed out.' (HTTP 200).",
    )
    unrelated_lookup_items: int = Field(
        default=3, ge=0, description="Xledger: each lookup also answers up to N items it was not asked for."
    )


class Action(StrEnum):
    """What happens to one posting request."""

    NONE = "none"
    THROTTLE = "throttle"
    SERVER_ERROR = "server_error"
    RESET = "reset"
    DROP_AFTER_COMMIT = "drop_after_commit"
    STALL_AFTER_COMMIT = "stall_after_commit"


T = TypeVar("T")

# Scope key through which a handler tells `FaultMiddleware` what to do with its answer.
SCOPE_KEY = "accsync.sandbox.after"


class FaultState:
    def __init__(self) -> None:
        self.plan = FaultPlan()

    def update(self, changes: dict[str, Any]) -> FaultPlan:
        """Apply the fields given; others keep their current value."""
        self.plan = FaultPlan.model_validate({**self.plan.model_dump(), **changes})
        return self.plan

    def next_posting_action(self) -> Action:
        plan = self.plan
        for field, action in (
            ("resets", Action.RESET),
            ("throttle", Action.THROTTLE),
            ("server_errors", Action.SERVER_ERROR),
            ("drop_after_commit", Action.DROP_AFTER_COMMIT),
            ("stall_after_commit", Action.STALL_AFTER_COMMIT),
        ):
            if getattr(plan, field) > 0:
                setattr(plan, field, getattr(plan, field) - 1)
                return action
        return Action.NONE

    def take(self, counter: str) -> bool:
        """Use one of the counter field `counter`; False when it is spent."""
        if getattr(self.plan, counter) <= 0:
            return False
        setattr(self.plan, counter, getattr(self.plan, counter) - 1)
        return True

    def next_line_fault(self) -> tuple[int, bool] | None:
        """(status, stored first) for the next batch line, when one should fail."""
        if self.plan.line_faults <= 0:
            return None
        self.plan.line_faults -= 1
        return self.plan.line_fault_status, self.plan.line_fault_commits


async def pad_to_latency(handling: Awaitable[T], latency_ms: int) -> T:
    """Await `handling`, then wait until `latency_ms` have passed since it started.

    Latency is the time a request spends in the server, processing included, so that a
    benchmark's ceiling (requests at once / latency) is what the sandbox really allows. The
    work happens first: a client that times out has left a committed posting behind.
    """
    started = time.monotonic()
    result = await handling
    remaining = latency_ms / 1000 - (time.monotonic() - started)
    if remaining > 0:
        await asyncio.sleep(remaining)
    return result


async def drop_connection(receive: Receive, send: Send) -> None:
    """Close the client's connection without an answer, as a reset or a lost response looks.

    uvicorn's `send` is bound to its request cycle, which holds the socket's transport;
    aborting it resets the connection. Waiting for the disconnect then stops uvicorn from
    answering a 500 on its own.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        # Another server: start an answer and fail, which makes any ASGI server cut it short.
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
        raise ConnectionAbortedError("sandbox dropped the connection")
    transport.abort()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(2):
            while (await receive())["type"] != "http.disconnect":
                pass


class FaultMiddleware:
    """Carries out what a handler decided about its own answer: drop it, or delay it."""

    def __init__(self, app: Any, faults: FaultState) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Any] = []

        async def hold(message: Any) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        after = scope.get(SCOPE_KEY, Action.NONE)
        if after in (Action.RESET, Action.DROP_AFTER_COMMIT):
            await drop_connection(receive, send)
            return
        if after == Action.STALL_AFTER_COMMIT:
            await asyncio.sleep(self.faults.plan.stall_ms / 1000)
        for message in held:
            await send(message)
