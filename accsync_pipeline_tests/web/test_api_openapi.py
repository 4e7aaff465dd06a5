"""The API against its own OpenAPI description: generated requests get no 5xx and conforming answers.

Each operation gets a few generated cases, half of them aimed at an org the caller administers
(random org ids would only ever meet the 404). The event streams are left out: they are
endless by design and have their own tests.
"""

from __future__ import annotations

import time
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accsync_pipeline_tests.factories import add_sources
from accsync_pipeline_tests.web.conftest import Api, Seeded, fail_records

EXAMPLES_PER_OPERATION = 6
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_generated_requests_get_no_server_errors_and_answers_match_the_schema(
    api: Api, seeded: Seeded
) -> None:
    with api.engine.begin() as conn:
        ids = add_sources(conn, "hlf", 4)
    fail_records(api.engine, "hlf", ids[:2])
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app).exclude(path_regex=r"/events$")
    headers = {"Authorization": f"Bearer {api.token(seeded.global_admin)}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    started = time.monotonic()
    for operation in operations:

        @given(case=operation.as_strategy(), own_org=st.booleans())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any, own_org: bool) -> None:
            if own_org and "org_id" in (case.path_parameters or {}):
                case.path_parameters["org_id"] = "hlf"
            # A run's launcher is a fake here: whatever it launched stays "queued" for the next case.
            api.launcher.active.clear()
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
    assert time.monotonic() - started < 60
