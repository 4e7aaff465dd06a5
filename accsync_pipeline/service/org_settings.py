"""Validation of an organization's integration configuration, before anything is saved.

Every check reports by field, so the CLI can print one line per problem and a screen can
put each message beside its input. Nothing here does I/O.

Messages never repeat the value given: a person who pasted a token into the wrong place
must not see it echoed into a terminal log or a screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from accsync_pipeline.connectors.registry import CONNECTOR_SETTINGS
from accsync_pipeline.connectors.settings import SETTINGS_MODELS, DynamicsSettings, XledgerSettings
from accsync_pipeline.domain.org import ALL_RECORD_TYPES, AlertThresholds, AutoRetrySettings, RetrySettings
from accsync_pipeline.domain.records import ORG_ID_PATTERN
from accsync_pipeline.domain.schedule import Schedule, ScheduleError, schedule_from_spec, validate_timezone
from accsync_pipeline.service.errors import InvalidInput, Problem

MAX_RETRIES = 10
MAX_RETRY_DELAY_SECONDS = 3600
# The automatic-retry ceiling may be long (default 6 hours); a week bounds a typo.
MAX_AUTO_RETRY_SECONDS = 7 * 24 * 3600
MAX_NAME_LENGTH = 200
# Upper bounds of the alert thresholds, with their unit. Windows of hours stop at 90 days:
# far beyond any useful alert, far below what a date can hold.
ALERT_LIMITS: dict[str, tuple[int, str]] = {
    "consecutive_failures": (100, ""),
    "error_threshold": (100_000, ""),
    "error_window_hours": (90 * 24, " hours"),
    "pending_hours": (90 * 24, " hours"),
}
# Keys under which people try to store a secret itself rather than where to find it.
SECRET_WORDS = ("token", "secret", "password", "passwd", "api_key", "apikey", "private_key")

_Settings = TypeVar("_Settings", RetrySettings, AutoRetrySettings, AlertThresholds)


class ConfigError(InvalidInput):
    """A configuration that cannot be saved; `problems` holds (field, message) pairs."""


def raise_if_any(problems: list[Problem]) -> None:
    if problems:
        raise ConfigError(problems)


def check_org_id(org_id: str) -> list[Problem]:
    if not ORG_ID_PATTERN.match(org_id):
        return [("org_id", "must be 1-40 characters of a-z, 0-9 and _ (the app's organization slug)")]
    return []


def check_name(name: str) -> list[Problem]:
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        return [("name", f"must be 1-{MAX_NAME_LENGTH} characters")]
    return []


def check_connector_type(connector_type: str) -> list[Problem]:
    if connector_type not in CONNECTOR_SETTINGS:
        return [("connector_type", f"must be one of: {', '.join(sorted(CONNECTOR_SETTINGS))}")]
    return []


def check_timezone(timezone: str) -> list[Problem]:
    try:
        validate_timezone(timezone)
    except ScheduleError as e:
        return [("timezone", str(e))]
    return []


def is_secret_key(key: str) -> bool:
    """A settings key that would hold a secret value rather than the name of its variable."""
    lowered = key.lower()
    return not lowered.endswith("_env") and any(word in lowered for word in SECRET_WORDS)


def _looks_like_secret_value(value: object) -> bool:
    # Variable names are words joined by `_`; generated tokens are long runs of mixed letters and digits.
    return (
        isinstance(value, str)
        and len(value) >= 20
        and "_" not in value
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


def secret_variable_fields(connector_type: str) -> list[str]:
    """The settings that name environment variables holding secrets, e.g. ["token_env"]."""
    return [name for name in CONNECTOR_SETTINGS[connector_type].model_fields if name.endswith("_env")]


def _pydantic_problem(model: type[BaseModel], error: Mapping[str, Any]) -> Problem:
    field = ".".join(str(p) for p in error["loc"]) or "settings"
    info = model.model_fields.get(field)
    expected = (info.description or "").rstrip(".") if info else ""
    expected = expected or "a value"
    kind = error["type"]
    if kind == "missing":
        return field, f"required: {expected}"
    if kind == "extra_forbidden":
        return field, f"unknown setting; known: {', '.join(model.model_fields)}"
    if kind == "string_pattern_mismatch":
        return field, f"malformed; expected {expected}"
    return field, str(error["msg"]).removeprefix("Value error, ")


def check_connector_settings(connector_type: str, settings: Mapping[str, Any]) -> list[Problem]:
    """Problems with a connector's settings, one per key; empty when the settings are usable."""
    model = CONNECTOR_SETTINGS[connector_type]
    env_fields = secret_variable_fields(connector_type)
    problems: list[Problem] = []
    for key in settings:
        if is_secret_key(key):
            where = " or ".join(env_fields) or "a *_env setting"
            problems.append(
                (key, f"secrets are never stored; set {where} to the name of the environment variable")
            )
    for key in env_fields:
        if _looks_like_secret_value(settings.get(key)):
            problems.append(
                (key, "looks like a secret value; give the name of the environment variable holding it")
            )
    safe = {k: v for k, v in settings.items() if not is_secret_key(k)}
    try:
        model.model_validate(safe)
    except ValidationError as e:
        problems += [
            p for p in (_pydantic_problem(model, err) for err in e.errors()) if p[0] not in dict(problems)
        ]
    return problems


def normalise_connector_settings(
    connector_type: str, settings: Mapping[str, Any]
) -> XledgerSettings | DynamicsSettings:
    """The typed settings, or ConfigError naming every problem; they store only the settings given."""
    raise_if_any(check_connector_settings(connector_type, settings))
    return SETTINGS_MODELS[connector_type].model_validate(dict(settings))


def parse_schedule(spec: Mapping[str, object] | Schedule) -> Schedule:
    if not isinstance(spec, Mapping):
        return spec
    try:
        return schedule_from_spec(spec)
    except ScheduleError as e:
        raise ConfigError([("schedule", str(e))]) from None


def check_record_types(record_types: Iterable[str]) -> tuple[tuple[str, ...], list[Problem]]:
    """The record types in canonical order, or the problem with them."""
    chosen = set(record_types)
    unknown = sorted(chosen - set(ALL_RECORD_TYPES))
    if unknown or not chosen:
        message = f"choose one or more of: {', '.join(ALL_RECORD_TYPES)}"
        if unknown:
            message = f"unknown {', '.join(unknown)}; {message}"
        return (), [("record_types", message)]
    return tuple(t for t in ALL_RECORD_TYPES if t in chosen), []


def merge_settings(
    group: str, current: _Settings, changes: _Settings | Mapping[str, object]
) -> tuple[_Settings, list[Problem]]:
    """`current` with `changes` applied (a whole value or some of its fields), and unknown names."""
    if not isinstance(changes, Mapping):
        return changes, []
    known = {f.name for f in fields(current)}
    problems = [
        (f"{group}.{k}", f"unknown; known: {', '.join(sorted(known))}") for k in changes if k not in known
    ]
    # Types are checked afterwards by check_retry & co., which name the field and the range.
    applied: dict[str, Any] = {k: v for k, v in changes.items() if k in known}
    return replace(current, **applied), problems


def _whole_number(field: str, value: object, low: int, high: int | None, unit: str = "") -> list[Problem]:
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and low <= value <= (value if high is None else high)
    ):
        return []
    bound = f"{low}-{high}" if high is not None else f"at least {low}"
    return [(field, f"must be a whole number {bound}{unit}")]


def check_retry(retry: RetrySettings) -> list[Problem]:
    return _whole_number("retry.max_retries", retry.max_retries, 0, MAX_RETRIES) + _whole_number(
        "retry.base_delay_seconds", retry.base_delay_seconds, 0, MAX_RETRY_DELAY_SECONDS, " seconds"
    )


def check_auto_retry(auto_retry: AutoRetrySettings) -> list[Problem]:
    # A zero first delay would retry a failing record on every sensor tick, so it starts at 1 s.
    problems = _whole_number(
        "auto_retry.base_seconds", auto_retry.base_seconds, 1, MAX_RETRY_DELAY_SECONDS, " seconds"
    ) + _whole_number("auto_retry.max_seconds", auto_retry.max_seconds, 1, MAX_AUTO_RETRY_SECONDS, " seconds")
    if not problems and auto_retry.max_seconds < auto_retry.base_seconds:
        problems.append(("auto_retry.max_seconds", "must not be less than auto_retry.base_seconds"))
    return problems


def check_alerts(alerts: AlertThresholds) -> list[Problem]:
    """Every threshold bounded: an alert rule subtracts windows from now, for every org in one tick."""
    return [
        problem
        for f in fields(alerts)
        for problem in _whole_number(
            f"alerts.{f.name}", getattr(alerts, f.name), 1, ALERT_LIMITS[f.name][0], ALERT_LIMITS[f.name][1]
        )
    ]
