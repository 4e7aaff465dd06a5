"""The schedule editor and the integration settings of one org, and adding an org."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from accsync_pipeline.connectors.registry import CONNECTOR_SETTINGS
from accsync_pipeline.domain.org import ALL_RECORD_TYPES, DEFAULT_TIMEZONE
from accsync_pipeline.domain.schedule import MAX_MONTHLY_DAY, Weekday
from accsync_pipeline.service.org_settings import (
    ALERT_LIMITS,
    MAX_AUTO_RETRY_SECONDS,
    MAX_RETRY_DELAY_SECONDS,
)
from accsync_pipeline.service.schedule_overview import schedule_overview
from accsync_pipeline.web.deps import Now
from accsync_pipeline.web.pages.errors import not_found
from accsync_pipeline.web.pages.rendering import render
from accsync_pipeline.web.pages.session import PageEngine, PageUser, find_visible_org, to_login, unread_count

router = APIRouter()

SCHEDULE_KINDS = (
    ("manual", "Manual only", "Runs only when someone presses Sync Now."),
    ("daily", "Daily", "Every day at a time you choose."),
    ("weekly", "Weekly", "Once a week, on a day and at a time you choose."),
    ("monthly", "Monthly", "Once a month, on a day and at a time you choose."),
    ("custom", "Custom", "A cron expression, for anything else."),
)
FIELD_LABELS = {
    "base_url": "Address of the accounting system's API",
    "token_env": "Environment variable holding the API token",
    "credit_account": "Credit account (volunteer payables)",
    "max_concurrency": "Requests at the same time",
    "requests_per_second": "Requests per second",
    "timeout_seconds": "Timeout in seconds",
    "auth_url": "Sign-in address (OAuth authority)",
    "tenant": "Tenant",
    "environment": "Environment",
    "company_id": "Company id",
    "journal_id": "General journal id",
    "client_id": "Client id (app registration)",
    "client_secret_env": "Environment variable holding the client secret",
    "scope": "Scope",
}


# The thresholds and automatic retries on the settings screen: saved through PUT /api/orgs/{id}/settings,
# so the screen is checked by exactly the API's model (`SettingsIn`) and rules (`check_alerts` & co.).
ALERT_FIELDS = (
    ("consecutive_failures", "Alert after this many failed tries of one record in a row", ""),
    ("error_threshold", "Alert when more errors than this happen", ""),
    ("error_window_hours", "… within this many hours", "hours"),
    ("pending_hours", "Alert when an approved record is not in the ledger after", "hours"),
)
AUTO_RETRY_FIELDS = (
    ("base_seconds", "First automatic retry of a failed record after", "seconds"),
    ("max_seconds", "Longest wait between automatic retries", "seconds"),
)


@dataclass(frozen=True)
class SettingField:
    name: str
    label: str
    hint: str
    value: str
    placeholder: str
    required: bool
    secret_variable: bool
    numeric: bool


def setting_fields(connector_type: str, current: dict[str, Any]) -> list[SettingField]:
    """The connector's settings as form fields, described in plain words; never a secret value."""
    model: type[BaseModel] = CONNECTOR_SETTINGS[connector_type]
    fields = []
    for name, info in model.model_fields.items():
        secret_variable = name.endswith("_env")
        # Descriptions are written for the API's reference: `code` marks read as plain words here.
        hint = (info.description or "").replace("`", "")
        if secret_variable:
            hint = "The name of the variable, for example MY_ORG_TOKEN. Never paste the secret itself here."
        value = current.get(name)
        annotation = str(info.annotation)
        fields.append(
            SettingField(
                name=name,
                label=FIELD_LABELS.get(name, name.replace("_", " ").capitalize()),
                hint=hint,
                value="" if value is None else str(value),
                placeholder="" if info.is_required() or info.default is None else str(info.default),
                required=info.is_required(),
                secret_variable=secret_variable,
                numeric="int" in annotation or "float" in annotation,
            )
        )
    return fields


@router.get("/orgs/new", response_class=HTMLResponse)
def new_org_page(request: Request, user: PageUser, engine: PageEngine) -> Response:
    if user is None:
        return to_login(request)
    if not user.is_global_admin:
        return not_found(request, user, engine)
    context = {
        "title": "Add an organization",
        "connector_fields": {kind: setting_fields(kind, {}) for kind in CONNECTOR_SETTINGS},
        "default_timezone": DEFAULT_TIMEZONE,
    }
    return render(request, "new_org.html", context, user, unread_count(engine, user))


@router.get("/orgs/{org_id}/schedule", response_class=HTMLResponse)
def schedule_page(request: Request, org_id: str, user: PageUser, engine: PageEngine, now: Now) -> Response:
    if user is None:
        return to_login(request)
    org = find_visible_org(engine, user, org_id)
    if org is None:
        return not_found(request, user, engine)
    context = {
        "org": org,
        "overview": schedule_overview(org, now),
        "spec": org.schedule,
        "kinds": SCHEDULE_KINDS,
        "weekdays": [(w.value, w.value.capitalize()) for w in Weekday],
        "month_days": list(range(1, MAX_MONTHLY_DAY + 1)),
        "record_types": ALL_RECORD_TYPES,
        "tab": "schedule",
        "title": f"{org.name}: schedule",
        "timezone": org.timezone,
    }
    return render(request, "schedule.html", context, user, unread_count(engine, user))


@router.get("/orgs/{org_id}/settings", response_class=HTMLResponse)
def settings_page(request: Request, org_id: str, user: PageUser, engine: PageEngine) -> Response:
    if user is None:
        return to_login(request)
    org = find_visible_org(engine, user, org_id)
    if org is None:
        return not_found(request, user, engine)
    context = {
        "org": org,
        "fields": setting_fields(org.connector_type, org.connector_settings.stored()),
        "alert_fields": ALERT_FIELDS,
        "auto_retry_fields": AUTO_RETRY_FIELDS,
        "alert_limits": ALERT_LIMITS,
        "max_retry_delay": MAX_RETRY_DELAY_SECONDS,
        "max_auto_retry": MAX_AUTO_RETRY_SECONDS,
        "tab": "settings",
        "title": f"{org.name}: integration settings",
        "timezone": org.timezone,
    }
    return render(request, "settings.html", context, user, unread_count(engine, user))
