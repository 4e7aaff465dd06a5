"""An org's connection to its accounting system: settings, enable/disable, and a connection test.

Settings never hold secrets, only the names of the environment variables that do; the
validation refuses anything that looks like a secret value, so nothing here can echo one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from accsync_pipeline.domain.org import OrgConfig
from accsync_pipeline.service.org_config import save_change, test_connection, update_integration
from accsync_pipeline.service.org_settings import secret_variable_fields
from accsync_pipeline.web.api.models import StrictIn, errors
from accsync_pipeline.web.api.orgs import ConfigApplier
from accsync_pipeline.web.deps import DbEngine, VisibleOrg

router = APIRouter(tags=["integration"])


class IntegrationOut(BaseModel):
    org_id: str
    name: str
    connector_type: str
    enabled: bool
    connector_settings: dict[str, Any]
    secret_variables: list[str] = Field(
        description="Settings that name the environment variables holding secrets"
    )
    dagster: str | None = Field(default=None, description="After a change: what Dagster made of it")


class IntegrationIn(StrictIn):
    """Only what is given changes. In `connector_settings`, a null value removes that setting."""

    name: str | None = None
    connector_type: str | None = Field(default=None, description="xledger | dynamics")
    connector_settings: dict[str, Any] | None = None
    enabled: bool | None = None


class ConnectionTestOut(BaseModel):
    ok: bool
    message: str


def integration_out(org: OrgConfig, dagster: str | None = None) -> IntegrationOut:
    try:
        secret_fields = secret_variable_fields(org.connector_type)
    except KeyError:
        secret_fields = []
    return IntegrationOut(
        org_id=org.org_id,
        name=org.name,
        connector_type=org.connector_type,
        enabled=org.enabled,
        connector_settings=org.connector_settings.stored(),
        secret_variables=secret_fields,
        dagster=dagster,
    )


@router.get("/orgs/{org_id}/integration", responses=errors(401, 404, 503))
def get_integration(org: VisibleOrg) -> IntegrationOut:
    return integration_out(org)


@router.patch("/orgs/{org_id}/integration", responses=errors(401, 403, 404, 503))
def patch_integration(
    org: VisibleOrg, body: IntegrationIn, engine: DbEngine, apply: ConfigApplier
) -> IntegrationOut:
    """Change the connector, its settings, the name, or enable/disable the integration."""
    change, update = save_change(
        engine,
        apply,
        lambda conn: update_integration(
            conn,
            org.org_id,
            settings_changes=body.connector_settings,
            enabled=body.enabled,
            connector_type=body.connector_type,
            name=body.name,
        ),
    )
    return integration_out(change.after, update.message if update else None)


@router.post("/orgs/{org_id}/integration/test", responses=errors(401, 403, 404, 503))
def check_connection(org: VisibleOrg) -> ConnectionTestOut:
    """Authenticate against the accounting system and make one harmless read."""
    check = test_connection(org)
    return ConnectionTestOut(ok=check.ok, message=check.message)
