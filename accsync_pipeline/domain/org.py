"""An organization's integration configuration, as the pipeline and the screens use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accsync_pipeline.domain.records import RecordType

DEFAULT_TIMEZONE = "Europe/Oslo"
ALL_RECORD_TYPES: tuple[str, ...] = tuple(t.value for t in RecordType)


@dataclass(frozen=True)
class RetrySettings:
    """Whole-batch retries of one run: how many, and the first delay (doubled each time)."""

    max_retries: int = 3
    base_delay_seconds: int = 30


@dataclass(frozen=True)
class AutoRetrySettings:
    """Per-record automatic retries after a transient failure: exponential from base to limit."""

    base_seconds: int = 300
    max_seconds: int = 21600


@dataclass(frozen=True)
class AlertThresholds:
    consecutive_failures: int = 3
    error_threshold: int = 10
    error_window_hours: int = 24
    pending_hours: int = 48


@dataclass(frozen=True)
class OrgConfig:
    org_id: str
    name: str
    connector_type: str
    connector_settings: dict[str, Any]
    enabled: bool = True
    timezone: str = DEFAULT_TIMEZONE
    schedule: dict[str, Any] = field(default_factory=lambda: {"kind": "manual"})
    record_types: tuple[str, ...] = ALL_RECORD_TYPES
    sync_on_approval: bool = False
    retry: RetrySettings = RetrySettings()
    auto_retry: AutoRetrySettings = AutoRetrySettings()
    alerts: AlertThresholds = AlertThresholds()


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    email: str
    role: str  # "org_admin" | "global_admin"
    org_id: str | None

    @property
    def is_global_admin(self) -> bool:
        return self.role == "global_admin"
