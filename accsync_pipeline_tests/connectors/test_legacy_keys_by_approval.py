"""An export asks Business Central for a record's legacy keys only when an older accsync could
have sent it: approved before the database's mark of the current keys, plus the margin.

The lookups are read off the wire (the transport is the seam): each one is a `$batch` of GETs
whose filters name the keys asked for. Records in flight after a crash are recovered by the
same rule. A record an older accsync did post under its legacy keys is still found, not
posted twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from accsync_pipeline.connectors.dynamics import DynamicsConnector, journal_line
from accsync_pipeline.connectors.settings import DynamicsSettings
from accsync_pipeline.domain.legacy_keys import LEGACY_KEYS_MARGIN
from accsync_pipeline.domain.records import ExportableRecord, RecordType, ledger_keys
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service.export import RunContext, export_org
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import records as record_store
from accsync_pipeline.store.schema import approved_records, ledger_key_schemes, record_sync_state
from accsync_pipeline_tests.factories import add_org_with_admin, add_source, sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import FAST_RETRY, dynamics_settings

MARK = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
BEFORE, AFTER = MARK - timedelta(days=2), MARK + LEGACY_KEYS_MARGIN + timedelta(minutes=1)
# Lower-case ids: hashed now, readable (`accsync-hlf-r1`, `AS-r1`) before the upgrade.
APPROVED = {"r1": BEFORE, "r2": AFTER, "r3": BEFORE, "r4": AFTER}
IN_FLIGHT = ["r3", "r4"]  # left by a crashed run


class RecordingTransport(httpx.BaseTransport):
    """A real HTTP transport that keeps every request body it sent."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.bodies: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.read().decode())
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def asked_for(bodies: list[str], key: str) -> bool:
    """Whether any lookup filtered on `key` (a term is `… eq '<KEY>'`, upper-cased as BC keeps it)."""
    return any(f"'{key.upper()}'" in body for body in bodies if '"GET"' in body)


def post_as_an_older_accsync(bc: DynamicsConnector, record_id: str) -> None:
    keys = ledger_keys("hlf", record_id)
    record = ExportableRecord(
        record_id, "hlf", RecordType.REIMBURSEMENT, "20001", Decimal("10.00"), "NOK", "7140", "Reise",
        BEFORE.date(), BEFORE,
    )  # fmt: skip
    body = journal_line(record, ZoneInfo("Europe/Oslo")) | {
        "externalDocumentNumber": keys.legacy_idempotency_key,
        "documentNumber": keys.legacy_document_number,
    }
    answer = bc._send_batch([{"id": "0", "method": "POST", "url": bc._lines, "headers": {}, "body": body}])
    assert answer["0"]["status"] == 201


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def bc(dynamics_sandbox: RunningSandbox, transport: RecordingTransport) -> DynamicsConnector:
    settings = DynamicsSettings.model_validate(dynamics_settings(dynamics_sandbox))
    return DynamicsConnector(settings, transport=transport, retry=FAST_RETRY)


def test_legacy_keys_are_asked_only_for_records_approved_before_the_mark(
    engine: Engine, dynamics_sandbox: RunningSandbox, bc: DynamicsConnector, transport: RecordingTransport
) -> None:
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("hlf", "dynamics", dynamics_settings(dynamics_sandbox)))
        for record_id, approved_at in APPROVED.items():
            add_source(conn, record_id, approved_at=approved_at, updated_at=approved_at)
        conn.execute(sa.update(ledger_key_schemes).values(since=MARK))
        record_store.intake(conn, "hlf", MARK + timedelta(days=3))
        record_store.mark_in_flight(conn, IN_FLIGHT, "a-crashed-run", MARK + timedelta(days=3))
        org = org_store.get_org(conn, "hlf")
    post_as_an_older_accsync(bc, "r1")
    transport.bodies.clear()
    try:
        export_org(engine, bc, org, RunContext("run-1", "manual"), ["reimbursement", "honorarium"])
    finally:
        bc.close()

    for record_id, approved_at in APPROVED.items():
        keys = ledger_keys("hlf", record_id)
        assert keys.legacy_idempotency_key is not None and keys.legacy_document_number is not None
        assert asked_for(transport.bodies, keys.idempotency_key), record_id
        legacy_asked = [
            asked_for(transport.bodies, key)
            for key in (keys.legacy_idempotency_key, keys.legacy_document_number)
        ]
        assert legacy_asked == [approved_at == BEFORE] * 2, record_id
    # r1 stands in the ledger under its legacy key and was recognised there, not sent again.
    sent = sorted(p["externalDocumentNumber"] for p in dynamics_sandbox.postings())
    assert sent == sorted(
        ["ACCSYNC-HLF-R1", *(ledger_keys("hlf", r).idempotency_key.upper() for r in "r2 r3 r4".split())]
    )
    with engine.connect() as conn:
        statuses = dict(
            conn.execute(sa.select(record_sync_state.c.record_id, record_sync_state.c.status)).all()
        )
    assert statuses == dict.fromkeys(APPROVED, "exported")


def test_recovery_of_records_in_flight_follows_the_same_rule(
    engine: Engine, dynamics_sandbox: RunningSandbox, bc: DynamicsConnector, transport: RecordingTransport
) -> None:
    """Only the lookups that resolve a crashed run's records: the export's own come after."""
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("hlf", "dynamics", dynamics_settings(dynamics_sandbox)))
        for record_id in IN_FLIGHT:
            add_source(conn, record_id, approved_at=APPROVED[record_id], updated_at=APPROVED[record_id])
        conn.execute(sa.update(ledger_key_schemes).values(since=MARK))
        record_store.intake(conn, "hlf", MARK + timedelta(days=3))
        record_store.mark_in_flight(conn, IN_FLIGHT, "a-crashed-run", MARK + timedelta(days=3))
        org = org_store.get_org(conn, "hlf")
    try:
        # Only r3 and r4 of another type than the one exported: recovery looks them up, nothing is sent.
        export_org(engine, bc, org, RunContext("run-1", "manual"), [])
    finally:
        bc.close()
    r3, r4 = ledger_keys("hlf", "r3"), ledger_keys("hlf", "r4")
    assert r3.legacy_idempotency_key is not None and r4.legacy_idempotency_key is not None
    assert asked_for(transport.bodies, r3.idempotency_key) and asked_for(transport.bodies, r4.idempotency_key)
    assert asked_for(transport.bodies, r3.legacy_idempotency_key)
    assert not asked_for(transport.bodies, r4.legacy_idempotency_key)
    assert dynamics_sandbox.postings() == []


def test_a_re_approval_after_the_mark_does_not_hide_an_earlier_approval(
    engine: Engine, dynamics_sandbox: RunningSandbox, bc: DynamicsConnector, transport: RecordingTransport
) -> None:
    """r5 was approved before the mark and failed; the app then edited it and moved approved_at
    past the mark. Intake reopens it, and its lookup still asks for its legacy keys."""
    with engine.begin() as conn:
        add_org_with_admin(conn, sandbox_org("hlf", "dynamics", dynamics_settings(dynamics_sandbox)))
        add_source(conn, "r5", approved_at=BEFORE, updated_at=BEFORE)
        conn.execute(sa.update(ledger_key_schemes).values(since=MARK))
        record_store.intake(conn, "hlf", BEFORE + timedelta(minutes=1))
        conn.execute(sa.update(record_sync_state).values(status="failed"))
        conn.execute(sa.update(approved_records).values(approved_at=AFTER, updated_at=AFTER))
        org = org_store.get_org(conn, "hlf")
    post_as_an_older_accsync(bc, "r5")
    transport.bodies.clear()
    try:
        export_org(engine, bc, org, RunContext("run-1", "manual"), ["reimbursement"])
    finally:
        bc.close()
    keys = ledger_keys("hlf", "r5")
    assert keys.legacy_idempotency_key is not None
    assert asked_for(transport.bodies, keys.legacy_idempotency_key)
    assert [p["externalDocumentNumber"] for p in dynamics_sandbox.postings()] == ["ACCSYNC-HLF-R5"]
