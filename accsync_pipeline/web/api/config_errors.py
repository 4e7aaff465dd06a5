"""Configuration problems as 422 answers in FastAPI's own validation shape.

Screens already place `{"loc": [...], "msg": ...}` items beside their inputs for malformed
requests; a well-formed request with unusable values answers the same way, one item per field.
"""

from __future__ import annotations

from fastapi import HTTPException, status

from accsync_pipeline.service.org_config import ConfigError


def config_error_response(error: ConfigError) -> HTTPException:
    detail = [
        {"loc": ["body", *field.split(".")], "msg": message, "type": "value_error"}
        for field, message in error.problems
    ]
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)
