"""Control endpoints every sandbox serves under `/_sandbox`: faults, postings, stats, reset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from accsync_pipeline.sandbox.faults import FaultState
from accsync_pipeline.sandbox.ledger import Ledger


@dataclass
class Stats:
    """Counters a benchmark or test reads to see how a client behaved."""

    requests: int = 0
    postings_requests: int = 0
    throttled: int = 0
    peak_concurrency: int = 0


def control_routes(
    ledger: Ledger, faults: FaultState, stats: Stats, on_reset: Callable[[], None]
) -> list[Route]:
    async def get_faults(request: Request) -> JSONResponse:
        return JSONResponse(faults.plan.model_dump())

    async def set_faults(request: Request) -> JSONResponse:
        try:
            plan = faults.update(await request.json())
        except (ValidationError, ValueError, TypeError) as e:
            return JSONResponse({"error": str(e)}, status_code=422)
        return JSONResponse(plan.model_dump())

    async def postings(request: Request) -> JSONResponse:
        return JSONResponse({"count": len(ledger.postings), "postings": ledger.postings})

    async def delete_postings(request: Request) -> JSONResponse:
        """A person deleting a record's postings in the ledger's own UI (reconciliation tests)."""
        removed = ledger.remove(request.query_params.get("key", ""))
        on_reset()  # derived indexes (Business Central's posted entries) follow the ledger
        return JSONResponse({"removed": removed})

    async def get_stats(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "requests": stats.requests,
                "postings_requests": stats.postings_requests,
                "throttled": stats.throttled,
                "peak_concurrency": stats.peak_concurrency,
                "postings": len(ledger.postings),
            }
        )

    async def reset(request: Request) -> JSONResponse:
        ledger.clear()
        faults.update(faults.plan.__class__().model_dump())
        stats.requests = stats.postings_requests = stats.throttled = stats.peak_concurrency = 0
        on_reset()
        return JSONResponse({"reset": True})

    return [
        Route("/_sandbox/faults", get_faults, methods=["GET"]),
        Route("/_sandbox/faults", set_faults, methods=["POST"]),
        Route("/_sandbox/postings", postings, methods=["GET"]),
        Route("/_sandbox/postings", delete_postings, methods=["DELETE"]),
        Route("/_sandbox/stats", get_stats, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
    ]
