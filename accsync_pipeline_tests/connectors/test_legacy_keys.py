"""A record posted under the keys an older accsync sent is found by them and not posted again.

Before keys were made unique under upper-casing, a short id with lower-case letters went out
readable (`accsync-hlf-r7`, `AS-r7`); it is hashed now. A record in flight across that
upgrade stands in the ledger under its legacy keys, so the lookup before a send asks for
them too (`LedgerKeys.legacy_idempotency_key`).
"""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from accsync_pipeline.connectors.base import Posted
from accsync_pipeline.connectors.dynamics import DynamicsConnector, journal_line
from accsync_pipeline.connectors.settings import DynamicsSettings, XledgerSettings
from accsync_pipeline.connectors.xledger import ADD_GL_IMPORT_ITEMS, XledgerConnector, gl_lines
from accsync_pipeline.domain.records import ExportableRecord
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline.service.export import already_in_ledger
from accsync_pipeline_tests.sandbox_fixtures import (
    FAST_RETRY,
    dynamics_settings,
    make_records,
    xledger_settings,
)

OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture
def record() -> ExportableRecord:
    [first] = list(make_records(1, start=7))
    assert first.record_id == "r7" and first.ledger_keys.legacy_idempotency_key == "accsync-hlf-r7"
    return first


@pytest.fixture
def bc(dynamics_sandbox: RunningSandbox) -> Iterator[DynamicsConnector]:
    settings = DynamicsSettings.model_validate(dynamics_settings(dynamics_sandbox))
    connector = DynamicsConnector(settings, retry=FAST_RETRY)
    yield connector
    connector.close()


@pytest.fixture
def xledger(xledger_sandbox: RunningSandbox) -> Iterator[XledgerConnector]:
    connector = XledgerConnector(
        XledgerSettings.model_validate(xledger_settings(xledger_sandbox)), retry=FAST_RETRY
    )
    yield connector
    connector.close()


def sync_once(connector: DynamicsConnector | XledgerConnector, record: ExportableRecord) -> dict[str, str]:
    """What a sync does with a pending record: look it up, send it only when the ledger lacks it."""
    found = already_in_ledger(connector, [record])
    outcomes = list(connector.export([r for r in [record] if r.record_id not in found]))
    assert all(isinstance(o, Posted) for o in outcomes)
    return found


def post_as_before_the_upgrade(bc: DynamicsConnector, record: ExportableRecord) -> str:
    keys = record.ledger_keys
    assert keys.legacy_idempotency_key is not None and keys.legacy_document_number is not None
    body = journal_line(record, OSLO) | {
        "externalDocumentNumber": keys.legacy_idempotency_key,
        "documentNumber": keys.legacy_document_number,
    }
    request = {"id": "0", "method": "POST", "url": bc._lines, "headers": {}, "body": body}
    answer = bc._send_batch([request])["0"]
    assert answer["status"] == 201
    return str(answer["body"]["id"])


def test_business_central_finds_a_journal_line_under_the_legacy_key(
    dynamics_sandbox: RunningSandbox, bc: DynamicsConnector, record: ExportableRecord
) -> None:
    line_id = post_as_before_the_upgrade(bc, record)
    assert sync_once(bc, record) == {"r7": line_id}
    assert [p["externalDocumentNumber"] for p in dynamics_sandbox.postings()] == ["ACCSYNC-HLF-R7"]


def test_business_central_finds_a_posted_entry_under_the_legacy_document_number(
    dynamics_sandbox: RunningSandbox, bc: DynamicsConnector, record: ExportableRecord
) -> None:
    post_as_before_the_upgrade(bc, record)
    bc._send_batch(
        [{"id": "0", "method": "POST", "url": bc._lines.replace("journalLines", "Microsoft.NAV.post")}]
    )
    assert [p["state"] for p in dynamics_sandbox.postings()] == ["posted"]
    found = sync_once(bc, record)
    assert list(found) == ["r7"] and len(dynamics_sandbox.postings()) == 1


def test_without_the_legacy_keys_the_record_would_be_posted_twice(
    dynamics_sandbox: RunningSandbox, bc: DynamicsConnector, record: ExportableRecord
) -> None:
    """The difference the legacy keys make: the current keys alone do not find the line."""
    post_as_before_the_upgrade(bc, record)
    current_only = type(record.ledger_keys)(record.record_id, record.idempotency_key, record.document_number)
    assert bc.lookup([current_only]) == {}
    assert bc.lookup([record.ledger_keys]) != {}


def test_xledger_finds_both_lines_under_the_legacy_key(
    xledger_sandbox: RunningSandbox, xledger: XledgerConnector, record: ExportableRecord
) -> None:
    inputs = [
        line | {"node": line["node"] | {"extIdentifier": record.ledger_keys.legacy_idempotency_key}}
        for line in gl_lines(record, 0, "2930", OSLO)
    ]
    stored = xledger._graphql(ADD_GL_IMPORT_ITEMS, {"inputs": inputs})
    assert not stored.has_errors
    found = sync_once(xledger, record)
    assert list(found) == ["r7"]
    assert [p["extIdentifier"] for p in xledger_sandbox.postings()] == ["accsync-hlf-r7"] * 2
