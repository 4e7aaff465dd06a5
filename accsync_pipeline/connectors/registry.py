"""Build a connector from its type name and stored settings.

The connectors (and httpx) are imported when a connector is built: reading and validating
settings, which every command line listing does, needs only the settings models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError

from accsync_pipeline.connectors.base import Connector
from accsync_pipeline.connectors.errors import ConfigurationError
from accsync_pipeline.connectors.settings import (
    ConnectorSettings,
    DynamicsSettings,
    UnusableSettings,
    XledgerSettings,
    describe_validation_error,
)
from accsync_pipeline.domain.org import DEFAULT_TIMEZONE, ConnectorType

if TYPE_CHECKING:
    import httpx

CONNECTOR_SETTINGS: dict[str, type[BaseModel]] = {
    ConnectorType.XLEDGER: XledgerSettings,
    ConnectorType.DYNAMICS: DynamicsSettings,
}


def connector_for(
    connector_type: str,
    settings: ConnectorSettings | Mapping[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
    bookkeeping_timezone: str = DEFAULT_TIMEZONE,
) -> Connector:
    """A ready connector; raises ConfigurationError for an unknown type, bad settings or a missing secret.

    `bookkeeping_timezone` is the org's (`OrgConfig.timezone`): posting dates are the
    approval's calendar day there.
    """
    if connector_type not in CONNECTOR_SETTINGS:
        known = ", ".join(sorted(CONNECTOR_SETTINGS))
        raise ConfigurationError(f"unknown connector type {connector_type!r}; expected one of: {known}")
    if isinstance(settings, UnusableSettings):
        raise ConfigurationError(settings.problem)
    model = CONNECTOR_SETTINGS[connector_type]
    # Settings parsed where they left the store are used as they are; a mapping is parsed here.
    if isinstance(settings, model):
        parsed: BaseModel = settings
    else:
        try:
            parsed = model.model_validate(settings if isinstance(settings, Mapping) else settings.stored())
        except ValidationError as e:
            raise ConfigurationError(
                f"invalid {connector_type} settings: {describe_validation_error(e)}"
            ) from None
    try:
        ZoneInfo(bookkeeping_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"unknown timezone {bookkeeping_timezone!r} for posting dates") from None
    if isinstance(parsed, XledgerSettings):
        from accsync_pipeline.connectors.xledger import XledgerConnector

        return XledgerConnector(parsed, transport=transport, bookkeeping_timezone=bookkeeping_timezone)
    assert isinstance(parsed, DynamicsSettings)
    from accsync_pipeline.connectors.dynamics import DynamicsConnector

    return DynamicsConnector(parsed, transport=transport, bookkeeping_timezone=bookkeeping_timezone)
