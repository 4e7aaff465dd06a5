"""Demo data: HLF on Business Central, Blindeforbundet on Xledger, a few hundred approved records."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from accsync_pipeline.connectors.settings import DynamicsSettings, XledgerSettings
from accsync_pipeline.domain.org import ConnectorType, OrgConfig, User, UserRole
from accsync_pipeline.domain.schedule import DailySchedule, Weekday, WeeklySchedule
from accsync_pipeline.store import orgs as org_store
from accsync_pipeline.store import users as user_store
from accsync_pipeline.store.source_rows import insert_source_rows

# Ports where `accsync run` starts the sandboxes.
XLEDGER_SANDBOX_PORT = 8101
DYNAMICS_SANDBOX_PORT = 8102

# The demo's Business Central company and journal, as `accsync run` starts its sandbox.
DEMO_TENANT = "hlf-demo-tenant"
DEMO_COMPANY_ID = "5f3b7c1e-0b4d-4e8a-9c2f-6a1d2e3f4a5b"
DEMO_JOURNAL_ID = "8c9d0e1f-2a3b-4c5d-8e6f-7a8b9c0d1e2f"
DEMO_CLIENT_ID = "accsync-hlf"

HLF_SECRET_ENV = "HLF_BC_CLIENT_SECRET"  # noqa: S105 - the name of a variable, not a secret
BLINDEFORBUNDET_TOKEN_ENV = "BLINDEFORBUNDET_XLEDGER_TOKEN"  # noqa: S105 - a variable name

FIRST_NAMES = (
    "Ingrid Kari Anne Solveig Marit Liv Astrid Hilde Berit Randi Nora Emma Sofie Ida Maja "
    "Ole Lars Per Jan Bjørn Knut Arne Svein Geir Terje Jonas Magnus Henrik Sindre Eirik"
).split()
LAST_NAMES = (
    "Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen "
    "Johnsen Pettersen Eriksen Berg Haugen Hagen Johannessen Andreassen Jacobsen Dahl "
    "Jørgensen Halvorsen Henriksen Lund Sørensen Strand Moen Bakken Kristoffersen Solberg"
).split()
REIMBURSEMENTS = (
    ("7140", "Reise til likepersonsmøte", (180, 2400)),
    ("7100", "Bilgodtgjørelse, besøk hos medlem", (120, 1800)),
    ("6860", "Kursavgift, likepersonskurs", (450, 3500)),
    ("7350", "Servering, medlemsmøte", (150, 1200)),
)
HONORARIUMS = (("5330", "Honorar for likepersonsarbeid", (500, 4000)),)


def hlf() -> OrgConfig:
    base = f"http://127.0.0.1:{DYNAMICS_SANDBOX_PORT}"
    return OrgConfig(
        org_id="hlf",
        name="HLF – Hørselshemmedes Landsforbund",
        connector_type=ConnectorType.DYNAMICS,
        connector_settings=DynamicsSettings.model_validate(
            {
                "base_url": base,
                "auth_url": base,
                "tenant": DEMO_TENANT,
                "environment": "production",
                "company_id": DEMO_COMPANY_ID,
                "journal_id": DEMO_JOURNAL_ID,
                "client_id": DEMO_CLIENT_ID,
                "client_secret_env": HLF_SECRET_ENV,
                "scope": "https://api.businesscentral.dynamics.com/.default",
            }
        ),
        schedule=DailySchedule(time(2, 0)),
        sync_on_approval=False,
    )


def blindeforbundet() -> OrgConfig:
    return OrgConfig(
        org_id="blindeforbundet",
        name="Norges Blindeforbund",
        connector_type=ConnectorType.XLEDGER,
        connector_settings=XledgerSettings.model_validate(
            {
                "base_url": f"http://127.0.0.1:{XLEDGER_SANDBOX_PORT}",
                "token_env": BLINDEFORBUNDET_TOKEN_ENV,
            }
        ),
        schedule=WeeklySchedule(Weekday.FRIDAY, time(16, 0)),
        sync_on_approval=True,
    )


DEMO_USERS = (
    User("kari.admin", "Kari Nordmann", "kari.nordmann@hlf.example", UserRole.ORG_ADMIN, "hlf"),
    User(
        "ole.admin", "Ole Hansen", "ole.hansen@blindeforbundet.example", UserRole.ORG_ADMIN, "blindeforbundet"
    ),
    User("global.admin", "Ingrid Berg", "ingrid.berg@accsync.example", UserRole.GLOBAL_ADMIN, None),
)


def demo_records(org_id: str, count: int, rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    """Approved records of the last day and a half, a handful deliberately unexportable."""
    people = [
        (f"P{rng.randrange(10_000, 99_999)}", f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")
        for _ in range(40)
    ]
    employee_numbers = {pid: str(rng.randrange(20_000, 29_999)) for pid, _ in people}
    rows = []
    for i in range(1, count + 1):
        person_id, name = rng.choice(people)
        honorarium = rng.random() < 0.25
        account, text, (low, high) = rng.choice(HONORARIUMS if honorarium else REIMBURSEMENTS)
        amount = Decimal(rng.randrange(low * 100, high * 100)) / 100
        employee_number: str | None = employee_numbers[person_id]
        if i % 61 == 0:
            employee_number = None  # shows "no employee number" as a skip reason
        if i % 97 == 0:
            amount = Decimal("0.00")  # shows "amount is not positive"
        approved_at = now - timedelta(minutes=rng.randrange(30, 36 * 60))
        rows.append(
            {
                "record_id": f"{org_id[:3].upper()}-{i:05d}",
                "org_id": org_id,
                "record_type": "honorarium" if honorarium else "reimbursement",
                "person_id": person_id,
                "person_name": name,
                "employee_number": employee_number,
                "amount": amount,
                "currency": "NOK",
                "expense_account": account,
                "description": text,
                "expense_date": (approved_at - timedelta(days=rng.randrange(1, 20))).date(),
                "approved_at": approved_at,
                "approved_by": f"{org_id}-approver",
                "updated_at": approved_at,
            }
        )
    return rows


def seed(conn: sa.Connection, now: datetime | None = None, seed_value: int = 2026) -> bool:
    """Insert the demo orgs, users and records unless they exist. Returns whether anything was added."""
    if org_store.find_org(conn, "hlf") is not None:
        return False
    now = now or datetime.now(UTC)
    rng = random.Random(seed_value)
    for org in (hlf(), blindeforbundet()):
        org_store.insert_org(conn, org, now)
    for user in DEMO_USERS:
        user_store.insert_user(conn, user)
    insert_source_rows(conn, demo_records("hlf", 180, rng, now))
    insert_source_rows(conn, demo_records("blindeforbundet", 140, rng, now))
    return True
