"""Posting dates are the approval's calendar day in the org's own timezone, for both ledgers.

The sample records are approved on 2 March 2025 at 23:30 UTC: 3 March in Oslo, still
2 March in New York. The org's timezone reaches the connector through the same factory
that a sync uses (`ConnectorFactory.for_org`).
"""

from __future__ import annotations

import pytest

from accsync_pipeline.connectors.base import Posted
from accsync_pipeline.connectors.errors import ConfigurationError
from accsync_pipeline.connectors.registry import connector_for
from accsync_pipeline.defs.resources import ConnectorFactory
from accsync_pipeline.sandbox.server import RunningSandbox
from accsync_pipeline_tests.factories import sandbox_org
from accsync_pipeline_tests.sandbox_fixtures import dynamics_settings, make_records, xledger_settings

CASES = [("Europe/Oslo", "2025-03-03"), ("America/New_York", "2025-03-02"), ("Asia/Tokyo", "2025-03-03")]


@pytest.mark.parametrize(("timezone", "day"), CASES)
def test_business_central_dates_the_line_in_the_orgs_timezone(
    dynamics_sandbox: RunningSandbox, timezone: str, day: str
) -> None:
    org = sandbox_org("hlf", "dynamics", dynamics_settings(dynamics_sandbox), timezone=timezone)
    connector = ConnectorFactory().for_org(org)
    [record] = list(make_records(1))
    assert record.approved_at.isoformat() == "2025-03-02T23:30:00+00:00"
    assert all(isinstance(o, Posted) for o in connector.export([record]))
    connector.close()
    assert [line["postingDate"] for line in dynamics_sandbox.postings()] == [day]


@pytest.mark.parametrize(("timezone", "day"), CASES)
def test_xledger_dates_both_lines_in_the_orgs_timezone(
    xledger_sandbox: RunningSandbox, timezone: str, day: str
) -> None:
    org = sandbox_org("hlf", "xledger", xledger_settings(xledger_sandbox), timezone=timezone)
    connector = ConnectorFactory().for_org(org)
    assert all(isinstance(o, Posted) for o in connector.export(make_records(1)))
    connector.close()
    assert [line["postedDate"] for line in xledger_sandbox.postings()] == [day, day]


def test_an_unknown_timezone_is_a_configuration_error(dynamics_sandbox: RunningSandbox) -> None:
    with pytest.raises(ConfigurationError, match="Mars/Olympus"):
        connector_for("dynamics", dynamics_settings(dynamics_sandbox), bookkeeping_timezone="Mars/Olympus")
