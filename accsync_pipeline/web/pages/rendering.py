"""Templates of the admin screens and the filters they use to show money, counts and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from accsync_pipeline.domain.org import ConnectorType, User
from accsync_pipeline.web.formatting import (
    format_ago,
    format_count,
    format_date,
    format_datetime,
    format_datetime_with_weekday,
    format_money,
    plural,
)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

CONNECTOR_NAMES: dict[str, str] = {
    ConnectorType.XLEDGER: "Xledger",
    ConnectorType.DYNAMICS: "Dynamics 365 Business Central",
}
HEALTH_LABELS = {"green": "Healthy", "amber": "Needs attention", "red": "Not syncing"}
RECORD_TYPE_NAMES = {"reimbursement": "Expense reimbursement", "honorarium": "Honorarium"}
TRIGGER_NAMES = {
    "schedule": "Schedule",
    "approval": "New approval",
    "manual": "Sync Now",
    "retry": "Retry",
    "auto_retry": "Automatic retry",
}
# How a running sync's starter reads after "A sync is already running".
STARTED_BY = {
    "schedule": " (started by the schedule)",
    "approval": " (started by a new approval)",
    "retry": " (a retry of failed records)",
    "auto_retry": " (an automatic retry of failed records)",
}


def _when(moment: datetime | None, timezone: str, empty: str = "never") -> str:
    return format_datetime(moment, timezone, empty)


def _started_by(running: Any) -> str:
    trigger = getattr(running, "trigger", None)
    user_name = getattr(running, "user_name", None)
    if trigger == "manual":
        return f" (started by {user_name})" if user_name else " (started with Sync Now)"
    if trigger in STARTED_BY:
        return STARTED_BY[trigger]
    return ""


def _retry_when(moment: datetime, timezone: str) -> str:
    """When a failed record is tried again: ahead, or due (the next sync takes it)."""
    if moment > datetime.now(UTC):
        return f"Next automatic try at {format_datetime(moment, timezone)}"
    return "Due for an automatic try: the next sync takes it"


def _money_map(amounts: dict[str, Decimal]) -> str:
    """`kr 1 234,50`, or `kr 1 234,50 + EUR 12,00` when records in other currencies are among them."""
    return " + ".join(format_money(amount, currency) for currency, amount in amounts.items()) or "kr 0,00"


def _duration(span: timedelta | None) -> str:
    """`2 h 5 min`, `3 min 12 s`, `8 s`; "not known" without one."""
    if span is None:
        return "not known"
    seconds = max(0, int(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def _label(value: str | None) -> str:
    """A stored word as people read it: `in_flight` → `In flight`, never `In_flight`."""
    text = (value or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _person(name: str, full: bool) -> str:
    return name if full else " ".join(f"{part[0]}." for part in name.split() if part)


def _money(amount: Decimal | int | str, currency: str = "NOK") -> str:
    return format_money(amount, currency)


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters.update(
    {
        "money": _money,
        "count": format_count,
        "records": lambda n: plural(int(n), "record"),
        "when": _when,
        "when_weekday": format_datetime_with_weekday,
        "date": format_date,
        "ago": lambda moment: format_ago(moment),
        "connector_name": lambda kind: CONNECTOR_NAMES.get(kind, kind),
        "health_label": lambda level: HEALTH_LABELS.get(str(level), str(level)),
        "record_type": lambda kind: RECORD_TYPE_NAMES.get(kind, kind),
        "trigger_name": lambda trigger: TRIGGER_NAMES.get(trigger or "", trigger or "Unknown"),
        "started_by": _started_by,
        "person": _person,
        "retry_when": _retry_when,
        "money_map": _money_map,
        "duration": _duration,
        "label": _label,
    }
)


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    user: User | None = None,
    unread_count: int = 0,
    status_code: int = 200,
) -> HTMLResponse:
    """A whole page or a fragment; pages get the signed-in user and the bell's count."""
    full = {"user": user, "unread_count": unread_count, "timezone": None, **context}
    return templates.TemplateResponse(request, name, full, status_code=status_code)
