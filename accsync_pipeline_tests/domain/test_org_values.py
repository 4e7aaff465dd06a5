"""An org's configuration holds typed values whatever it was given: enums for names, models for settings."""

from __future__ import annotations

import pytest

from accsync_pipeline.connectors.settings import DynamicsSettings, UnusableSettings, XledgerSettings
from accsync_pipeline.domain.org import ConnectorType, OrgConfig, User, UserRole


def test_a_connector_type_given_as_text_becomes_the_enum_and_an_unknown_one_is_refused() -> None:
    org = OrgConfig("bf", "BF", "dynamics", {})  # type: ignore[arg-type]
    assert org.connector_type is ConnectorType.DYNAMICS and org.connector_type == "dynamics"
    with pytest.raises(ValueError, match="'sap'"):
        OrgConfig("bf", "BF", "sap", {})  # type: ignore[arg-type]


def test_settings_given_as_a_mapping_are_parsed_for_the_org_s_connector_type() -> None:
    given = {"base_url": "https://demo.xledger.net", "token_env": "BF_TOKEN"}
    assert isinstance(OrgConfig("bf", "BF", ConnectorType.XLEDGER, given).connector_settings, XledgerSettings)  # type: ignore[arg-type]
    unusable = OrgConfig("bf", "BF", ConnectorType.DYNAMICS, given).connector_settings  # type: ignore[arg-type]
    assert isinstance(unusable, UnusableSettings) and unusable.stored() == given


def test_parsed_settings_are_kept_as_they_are() -> None:
    settings = XledgerSettings.model_validate(
        {"base_url": "https://demo.xledger.net", "token_env": "BF_TOKEN"}
    )
    assert OrgConfig("bf", "BF", ConnectorType.XLEDGER, settings).connector_settings is settings
    assert not isinstance(settings, DynamicsSettings)


@pytest.mark.parametrize(("role", "is_global"), [("global_admin", True), ("org_admin", False)])
def test_a_role_given_as_text_becomes_the_enum(role: str, is_global: bool) -> None:
    user = User("u", "U", "u@example.org", role, None)  # type: ignore[arg-type]
    assert user.role is UserRole(role) and user.is_global_admin is is_global


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="'owner'"):
        User("u", "U", "u@example.org", "owner", None)  # type: ignore[arg-type]
