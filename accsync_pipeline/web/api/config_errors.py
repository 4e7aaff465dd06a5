"""Configuration problems as 422 answers in FastAPI's own validation shape.

Screens already place `{"loc": [...], "msg": ...}` items beside their inputs for malformed
requests; a well-formed request with unusable values answers the same way, one item per field.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from fastapi import HTTPException, status
from sqlalchemy.engine import Engine

from accsync_pipeline.service.dagster_sync import DagsterUpdate
from accsync_pipeline.service.org_config import ConfigChange, ConfigError


def config_error_response(error: ConfigError) -> HTTPException:
    detail = [
        {"loc": ["body", *field.split(".")], "msg": message, "type": "value_error"}
        for field, message in error.problems
    ]
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def save_change(
    engine: Engine,
    apply: Callable[[str], DagsterUpdate],
    operation: Callable[[sa.Connection], ConfigChange],
) -> tuple[ConfigChange, str | None]:
    """Run one configuration operation in a transaction (422 and nothing saved on any problem);
    after the commit, tell Dagster when the change touches its partitions or schedules."""
    try:
        with engine.begin() as conn:
            change = operation(conn)
    except ConfigError as e:
        raise config_error_response(e) from None
    message = apply(change.after.org_id).message if change.affects_dagster else None
    return change, message
