"""Schedules and sync settings, the schedule preview, integration settings, and creating an org."""

from __future__ import annotations

from accsync_pipeline_tests.web.conftest import Api, Seeded, json_of


def test_settings_read_and_change_and_a_schedule_change_reloads_dagster(api: Api, seeded: Seeded) -> None:
    client = api.client(seeded.hlf_admin)
    current = json_of(client.get("/api/orgs/hlf/settings"))
    assert current["schedule"] == {"kind": "manual"} and current["next_runs"] == []
    assert current["retry"] == {"max_retries": 3, "base_delay_seconds": 0}
    changed = json_of(
        client.put(
            "/api/orgs/hlf/settings",
            json={
                "schedule": {"kind": "weekly", "weekday": "friday", "time": "16:00"},
                "alerts": {"error_threshold": 20},
            },
        )
    )
    assert changed["schedule"] == {"kind": "weekly", "weekday": "friday", "time": "16:00"}
    assert changed["alerts"]["error_threshold"] == 20 and changed["alerts"]["consecutive_failures"] == 3
    assert (
        changed["schedule_description"].startswith("At 16:00") and "Friday" in changed["schedule_description"]
    )
    assert len(changed["next_runs"]) == 5 and changed["next_runs"][0].endswith("T16:00:00+01:00")
    assert changed["dagster"] == "Dagster reloaded" and api.applied == ["hlf"]
    # Thresholds alone do not concern Dagster.
    json_of(client.put("/api/orgs/hlf/settings", json={"retry": {"max_retries": 5}}))
    assert api.applied == ["hlf"]
    assert json_of(client.get("/api/orgs/hlf/status"))["schedule_description"].startswith("At 16:00")


def test_invalid_settings_come_back_per_field_and_nothing_is_saved(api: Api, seeded: Seeded) -> None:
    client = api.client(seeded.hlf_admin)
    response = client.put(
        "/api/orgs/hlf/settings",
        json={
            "schedule": {"kind": "custom", "cron": "0 25 * * *"},
            "record_types": ["gift"],
            "alerts": {"pending_hours": 0},
        },
    )
    assert response.status_code == 422
    fields = {tuple(d["loc"]): d["msg"] for d in response.json()["detail"]}
    assert set(fields) == {
        ("body", "schedule"),
        ("body", "record_types"),
        ("body", "alerts", "pending_hours"),
    }
    assert "hour" in fields[("body", "schedule")]
    assert json_of(client.get("/api/orgs/hlf/settings"))["schedule"] == {"kind": "manual"}
    assert api.applied == []


def test_describe_a_cron_expression_or_a_spec(api: Api, seeded: Seeded) -> None:
    client = api.client(seeded.hlf_admin)
    valid = json_of(
        client.post(
            "/api/schedule/describe", json={"cron": "0  2 * * 1-5", "timezone": "Europe/Oslo", "count": 3}
        )
    )
    assert valid["valid"] and valid["cron"] == "0 2 * * 1-5" and valid["error"] is None
    assert "02:00" in valid["description"] and len(valid["next_runs"]) == 3
    spec = json_of(
        client.post(
            "/api/schedule/describe", json={"spec": {"kind": "monthly", "day": "last", "time": "23:00"}}
        )
    )
    assert spec["valid"] and spec["cron"] == "0 23 L * *"
    invalid = json_of(client.post("/api/schedule/describe", json={"cron": "0 2 31 2 *"}))
    assert invalid == {
        "valid": False,
        "cron": None,
        "description": None,
        "next_runs": [],
        "error": "day-of-month field: 31 never occurs in February",
    }
    assert not json_of(
        client.post("/api/schedule/describe", json={"cron": "0 2 * * *", "timezone": "Mars/Base"})
    )["valid"]


def test_integration_settings_enable_disable_and_connection_test(api: Api, seeded: Seeded) -> None:
    client = api.client(seeded.hlf_admin)
    current = json_of(client.get("/api/orgs/hlf/integration"))
    assert current["connector_type"] == "dynamics" and current["secret_variables"] == ["client_secret_env"]
    changed = json_of(
        client.patch("/api/orgs/hlf/integration", json={"connector_settings": {"environment": "sandbox"}})
    )
    assert changed["connector_settings"]["environment"] == "sandbox" and changed["dagster"] is None
    disabled = json_of(client.patch("/api/orgs/hlf/integration", json={"enabled": False}))
    assert disabled["enabled"] is False and api.applied == ["hlf"]
    assert json_of(client.get("/api/orgs/hlf/status"))["enabled"] is False
    secret = client.patch(
        "/api/orgs/hlf/integration", json={"connector_settings": {"client_secret": "s3cr3t-value-123"}}
    )
    assert secret.status_code == 422 and "s3cr3t" not in secret.text
    check = json_of(client.post("/api/orgs/hlf/integration/test"))
    assert check["ok"] is False and check["message"]


def test_a_global_administrator_creates_an_org(api: Api, seeded: Seeded) -> None:
    client = api.client(seeded.global_admin)
    body = {
        "org_id": "redcross",
        "name": "Red Cross",
        "connector_type": "xledger",
        "connector_settings": {"base_url": "http://127.0.0.1:9", "token_env": "REDCROSS_TOKEN"},
        "schedule": {"kind": "daily", "time": "03:00"},
    }
    response = client.post("/api/orgs", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"]["org_id"] == "redcross" and created["status"]["next_run_at"].endswith(
        "T03:00:00+01:00"
    )
    assert api.applied == ["redcross"]
    again = client.post("/api/orgs", json=body)
    assert again.status_code == 422 and again.json()["detail"][0]["loc"] == ["body", "org_id"]
