"""Stored connector settings are parsed once into their model; refused ones say why, never with a value."""

from __future__ import annotations

import pytest

from accsync_pipeline.connectors.errors import ConfigurationError
from accsync_pipeline.connectors.registry import connector_for
from accsync_pipeline.connectors.settings import (
    DynamicsSettings,
    UnusableSettings,
    XledgerSettings,
    parse_settings,
)
from accsync_pipeline.domain.org import ConnectorType, OrgConfig

XLEDGER = {"base_url": "https://demo.xledger.net/", "token_env": "BF_XLEDGER_TOKEN"}
LEAKED = "x9Yq2LmP4rT7vW1zK8sD3fG6hJ0"


def test_valid_settings_become_their_model_and_store_only_what_was_given() -> None:
    parsed = parse_settings("xledger", XLEDGER)
    assert isinstance(parsed, XledgerSettings)
    assert parsed.credit_account == "2930"  # the default, applied when read
    assert parsed.stored() == {"base_url": "https://demo.xledger.net", "token_env": "BF_XLEDGER_TOKEN"}
    assert parse_settings("xledger", parsed.stored()) == parsed


def test_settings_of_the_other_system_are_unusable_and_name_the_fields() -> None:
    parsed = parse_settings("dynamics", XLEDGER)
    assert isinstance(parsed, UnusableSettings)
    assert parsed.problem.startswith("invalid dynamics settings: ")
    assert "tenant" in parsed.problem and "token_env" in parsed.problem
    assert parsed.stored() == XLEDGER


def test_a_secret_in_stored_settings_stays_out_of_the_problem_and_the_repr() -> None:
    stored = {**XLEDGER, "api_token": LEAKED}
    parsed = parse_settings("xledger", stored)
    assert isinstance(parsed, UnusableSettings) and "api_token" in parsed.problem
    org = OrgConfig("bf", "BF", ConnectorType.XLEDGER, parsed)
    for text in (parsed.problem, repr(parsed), repr(org)):
        assert LEAKED not in text
    assert parsed.stored()["api_token"] == LEAKED  # written back as stored, never shown


def test_an_unknown_connector_type_is_unusable() -> None:
    parsed = parse_settings("sap", {})
    assert isinstance(parsed, UnusableSettings) and parsed.problem == "unknown connector type 'sap'"


def test_an_org_given_a_mapping_holds_its_typed_settings() -> None:
    org = OrgConfig("bf", "BF", "xledger", dict(XLEDGER))  # type: ignore[arg-type]
    assert org.connector_type is ConnectorType.XLEDGER
    assert isinstance(org.connector_settings, XledgerSettings)


def test_a_connector_is_not_built_from_unusable_settings() -> None:
    unusable = parse_settings("dynamics", {"tenant": "t"})
    assert isinstance(unusable, UnusableSettings)
    with pytest.raises(ConfigurationError) as raised:
        connector_for("dynamics", unusable)
    assert str(raised.value) == unusable.problem


def test_a_model_of_the_other_connector_type_is_refused() -> None:
    xledger = parse_settings("xledger", XLEDGER)
    with pytest.raises(ConfigurationError, match="invalid dynamics settings"):
        connector_for("dynamics", xledger)
    assert not isinstance(xledger, DynamicsSettings)
