"""Typed settings of each connector, as an org's integration configuration stores them.

Secrets are never fields: a setting holds the *name* of the environment variable that
holds the secret, and the connector reads it when it is built (`resolve_secret`).

An org's settings are parsed once, where they leave the store (`parse_settings`), which never
raises: settings the model refuses become `UnusableSettings`, which cost only their own org and
say why when a connector is built from them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from accsync_pipeline.connectors.errors import ConfigurationError


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
        raise ValueError("must be an http(s) URL starting with https://")
    return value.rstrip("/")


def _env_var_name(value: str) -> str:
    if not value or not (value.replace("_", "A").isalnum() and not value[0].isdigit()):
        raise ValueError(
            "must be the name of an environment variable (letters, digits, _), not a secret value"
        )
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
EnvVarName = Annotated[str, AfterValidator(_env_var_name)]
# Business Central allows 5 requests processed at once per user; more only earns 429s.
MAX_DYNAMICS_CONCURRENCY = 5


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    timeout_seconds: float = Field(default=30.0, gt=0, le=600, description="Per-request timeout in seconds.")

    def stored(self) -> dict[str, Any]:
        """As the database keeps them: only the settings given, so that a better default reaches every org."""
        return self.model_dump(mode="json", exclude_unset=True)


class XledgerSettings(_Settings):
    """How to reach one Xledger entity."""

    base_url: HttpUrl = Field(description="API host, e.g. https://demo.xledger.net; `/graphql` is appended.")
    token_env: EnvVarName = Field(description="Name of the environment variable holding the API token.")
    credit_account: str = Field(
        default="2930",
        min_length=1,
        max_length=20,
        description="GL account of the credit line (volunteer payables); the employee is its subledger.",
    )
    max_concurrency: int = Field(default=4, ge=1, le=16, description="Mutations in flight at once.")
    requests_per_second: float | None = Field(
        default=None,
        gt=0,
        description="Pace requests under the entity's burst limit; none means rely on throttle codes.",
    )


class DynamicsSettings(_Settings):
    """How to reach one Business Central company and general journal."""

    base_url: HttpUrl = Field(description="API host, e.g. https://api.businesscentral.dynamics.com")
    auth_url: HttpUrl = Field(
        default="https://login.microsoftonline.com",
        description="OAuth authority; `/{tenant}/oauth2/v2.0/token`.",
    )
    tenant: str = Field(
        min_length=1, max_length=100, pattern=r"^[A-Za-z0-9.\-]+$", description="Entra tenant."
    )
    environment: str = Field(
        default="production",
        min_length=1,
        max_length=30,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="BC environment.",
    )
    company_id: str = Field(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description="Company id (a GUID).",
    )
    journal_id: str = Field(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description="General journal id (a GUID).",
    )
    client_id: str = Field(min_length=1, max_length=100, description="App registration (client) id.")
    client_secret_env: EnvVarName = Field(
        description="Name of the environment variable holding the client secret."
    )
    scope: str = Field(default="https://api.businesscentral.dynamics.com/.default", min_length=1)
    max_concurrency: int = Field(default=MAX_DYNAMICS_CONCURRENCY, ge=1, le=MAX_DYNAMICS_CONCURRENCY)


def resolve_secret(env_var: str) -> str:
    """The secret held by `env_var`; raises ConfigurationError naming the variable, never a value."""
    value = os.environ.get(env_var, "")
    if not value.strip():
        raise ConfigurationError(f"environment variable {env_var} is not set (it should hold the secret)")
    return value


@dataclass(frozen=True)
class UnusableSettings:
    """Stored settings the connector's model refuses (saved by hand or by an older version).

    Kept as stored, so that saving another setting writes them back unchanged. The values stay
    out of the repr: a secret pasted into the wrong key may be among them.
    """

    values: Mapping[str, Any] = field(repr=False, hash=False)
    problem: str  # names fields, never values

    def stored(self) -> dict[str, Any]:
        return dict(self.values)


ConnectorSettings = XledgerSettings | DynamicsSettings | UnusableSettings
# By the connector type's stored name (`domain.org.ConnectorType` values).
SETTINGS_MODELS: dict[str, type[XledgerSettings] | type[DynamicsSettings]] = {
    "xledger": XledgerSettings,
    "dynamics": DynamicsSettings,
}


def describe_validation_error(error: ValidationError) -> str:
    """One line per bad field, naming the field and what is expected (never the value given)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in error.errors()
    )


def parse_settings(connector_type: str, stored: Mapping[str, Any]) -> ConnectorSettings:
    """The typed settings of an org's connector; never raises, so one bad row costs only its own org."""
    model = SETTINGS_MODELS.get(connector_type)
    if model is None:
        return UnusableSettings(dict(stored), f"unknown connector type {connector_type!r}")
    try:
        return model.model_validate(dict(stored))
    except ValidationError as e:
        return UnusableSettings(
            dict(stored), f"invalid {connector_type} settings: {describe_validation_error(e)}"
        )
