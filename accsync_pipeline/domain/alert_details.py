"""An alert's details in their stored JSON form, and parsed back into their typed values.

The rules build the typed values (`alert_model.AlertDetails`, one per rule); `store.alerts` writes
them as JSON (`details_json`) and parses them back once, as they leave the store (`parse_details`).
A stored row that does not parse (written by hand, or by a version that stored other fields)
becomes `UnreadDetails`, never an error: an open alert must still clear, and its notice falls
back to what the alert key says."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from accsync_pipeline.domain.alert_model import (
    AlertDetails,
    ErrorsDetails,
    FailingRecord,
    PlatformDetails,
    Rule,
    UnreadDetails,
    WaitingDetails,
)


class _Unreadable(ValueError):
    pass


def _field(stored: Mapping[str, Any], name: str, kind: type) -> Any:
    value = stored.get(name)
    # bool is an int to Python, not a count to JSON.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _Unreadable(f"{name}: expected {kind.__name__}")
    return value


def _optional_text(stored: Mapping[str, Any], name: str) -> str | None:
    return None if stored.get(name) is None else _field(stored, name, str)


def _instant(stored: Mapping[str, Any], name: str) -> datetime:
    text = _field(stored, name, str)
    try:
        at = datetime.fromisoformat(text)
    except ValueError as e:
        raise _Unreadable(f"{name}: expected an ISO 8601 time") from e
    if at.tzinfo is None:
        raise _Unreadable(f"{name}: expected a time with its offset")
    return at


def _orgs(stored: Mapping[str, Any]) -> tuple[str, ...]:
    orgs = _field(stored, "orgs", list)
    if not all(isinstance(o, str) for o in orgs):
        raise _Unreadable("orgs: expected a list of org ids")
    return tuple(orgs)


def _parse(rule: str, stored: Mapping[str, Any]) -> AlertDetails:
    if rule == Rule.CONSECUTIVE_FAILURES:
        return FailingRecord(
            _field(stored, "record_id", str),
            _field(stored, "record_type", str),
            _field(stored, "consecutive_failures", int),
            _optional_text(stored, "error"),
        )
    if rule == Rule.ERROR_THRESHOLD:
        return ErrorsDetails(_field(stored, "errors", int), _field(stored, "window_hours", int))
    if rule == Rule.STALE_PENDING:
        return WaitingDetails(_field(stored, "overdue", int), _instant(stored, "oldest_approved_at"))
    if rule == Rule.PLATFORM:
        return PlatformDetails(_orgs(stored))
    raise _Unreadable(f"no details are stored for rule {str(rule)!r}")


def parse_details(rule: str, stored: Any) -> AlertDetails:
    """The typed details of a stored alert of `rule`; never raises, so one odd row breaks no screen."""
    if not isinstance(stored, Mapping):
        return UnreadDetails({}, f"expected an object, found {type(stored).__name__}")
    try:
        return _parse(rule, stored)
    except _Unreadable as e:
        return UnreadDetails(dict(stored), str(e))


def details_json(details: AlertDetails) -> dict[str, Any]:
    """The JSON object stored for `details`, as the rules have always written it."""
    match details:
        case FailingRecord():
            return {
                "record_id": details.record_id,
                "record_type": details.record_type,
                "consecutive_failures": details.consecutive_failures,
                "error": details.error,
            }
        case ErrorsDetails():
            return {"errors": details.errors, "window_hours": details.window_hours}
        case WaitingDetails():
            return {"overdue": details.overdue, "oldest_approved_at": details.oldest_approved_at.isoformat()}
        case PlatformDetails():
            return {"orgs": list(details.orgs)}
        case UnreadDetails():
            return dict(details.values)
