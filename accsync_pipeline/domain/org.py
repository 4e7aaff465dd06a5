"""An organization's integration configuration, as the pipeline and the screens use it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from accsync_pipeline.domain.records import RecordType
from accsync_pipeline.domain.schedule import ManualSchedule, StoredSchedule

if TYPE_CHECKING:  # the settings models import pydantic: only code that parses settings loads it
    from accsync_pipeline.connectors.settings import ConnectorSettings

DEFAULT_TIMEZONE = "Europe/Oslo"
ALL_RECORD_TYPES: tuple[str, ...] = tuple(t.value for t in RecordType)


class ConnectorType(StrEnum):
    """The accounting system an org posts to; the value is what the database stores."""

    XLEDGER = "xledger"
    DYNAMICS = "dynamics"  # Dynamics 365 Business Central


class UserRole(StrEnum):
    ORG_ADMIN = "org_admin"  # one org's screens
    GLOBAL_ADMIN = "global_admin"  # every org, and adding orgs


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
    connector_type: ConnectorType
    # Typed by connector type, parsed once where the org leaves the store (`parse_settings`);
    # settings the connector's model refuses are UnusableSettings, which say why.
    connector_settings: ConnectorSettings
    enabled: bool = True
    timezone: str = DEFAULT_TIMEZONE
    # Parsed once, where the org leaves the store; a spec that no longer parses is an InvalidSchedule.
    schedule: StoredSchedule = field(default_factory=ManualSchedule)
    record_types: tuple[str, ...] = ALL_RECORD_TYPES
    sync_on_approval: bool = False
    retry: RetrySettings = RetrySettings()
    auto_retry: AutoRetrySettings = AutoRetrySettings()
    alerts: AlertThresholds = AlertThresholds()

    def __post_init__(self) -> None:
        # A type name given as text (a stored row, a test) becomes the enum; an unknown one is refused.
        object.__setattr__(self, "connector_type", ConnectorType(self.connector_type))
        if isinstance(self.connector_settings, Mapping):  # as stored or as given: parsed here, once
            from accsync_pipeline.connectors.settings import parse_settings

            object.__setattr__(
                self, "connector_settings", parse_settings(self.connector_type, self.connector_settings)
            )


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    email: str
    role: UserRole
    org_id: str | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", UserRole(self.role))

    @property
    def is_global_admin(self) -> bool:
        return self.role is UserRole.GLOBAL_ADMIN
