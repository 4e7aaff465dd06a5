"""Connector settings: what is accepted, what each refusal says, and that secrets stay out of them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from accsync_pipeline.connectors.errors import ConfigurationError
from accsync_pipeline.connectors.registry import CONNECTOR_SETTINGS, connector_for
from accsync_pipeline.connectors.settings import DynamicsSettings, XledgerSettings, resolve_secret

GUID = "6f3c2a51-0b7e-4d4a-9c1e-2f5b8d7a9e01"
DYNAMICS = {
    "base_url": "https://api.businesscentral.dynamics.com",
    "tenant": "contoso.onmicrosoft.com",
    "company_id": GUID,
    "journal_id": GUID,
    "client_id": "app",
    "client_secret_env": "BC_SECRET",
}


def test_defaults() -> None:
    xledger = XledgerSettings(base_url="https://demo.xledger.net/", token_env="XL_TOKEN")
    assert xledger.base_url == "https://demo.xledger.net" and xledger.credit_account == "2930"
    dynamics = DynamicsSettings.model_validate(DYNAMICS)
    assert dynamics.max_concurrency == 5 and dynamics.auth_url == "https://login.microsoftonline.com"
    assert set(CONNECTOR_SETTINGS) == {"xledger", "dynamics"}


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"base_url": "ftp://x"}, "base_url", "http(s) URL"),
        ({"client_secret_env": "s3cr3t value!"}, "client_secret_env", "environment variable"),
        ({"company_id": "not-a-guid"}, "company_id", "pattern"),
        ({"max_concurrency": 6}, "max_concurrency", "less than or equal to 5"),
        ({"client_secret": "x"}, "client_secret", "Extra inputs"),
    ],
)
def test_refusals_name_the_field_and_what_is_expected(
    changes: dict[str, object], field: str, expected: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        DynamicsSettings.model_validate(DYNAMICS | changes)
    errors = raised.value.errors()
    assert errors[0]["loc"] == (field,) and expected in errors[0]["msg"]


def test_factory_reports_bad_settings_without_values() -> None:
    with pytest.raises(ConfigurationError) as raised:
        connector_for("dynamics", DYNAMICS | {"client_secret_env": "hunter2 is my password"})
    assert "client_secret_env" in str(raised.value) and "hunter2" not in str(raised.value)
    with pytest.raises(ConfigurationError, match="unknown connector type 'sap'"):
        connector_for("sap", {})


def test_missing_secret_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XL_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match="XL_TOKEN"):
        connector_for("xledger", {"base_url": "https://demo.xledger.net", "token_env": "XL_TOKEN"})
    monkeypatch.setenv("XL_TOKEN", "abc")
    assert resolve_secret("XL_TOKEN") == "abc"
