"""The scale benchmark's data set, generated inside PostgreSQL with `generate_series` (seeded, minutes).

Shape (the full profile): 1,000 orgs, 10 of them with 50,000 records and 990 with about 505;
1,000,000 approved records; a state row for every record taken in (95 % exported, 2 % pending,
1 % failed three times, 1 % skipped) and the newest 1 % of each org approved since its last
intake; about 1.4 million attempts; 10 sync runs per org (10,000). Every value is a function of
the row number, and amounts come from `random()` after `setseed`, so two runs build the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from accsync_pipeline.store import bench_data


@dataclass(frozen=True)
class Profile:
    big_orgs: int
    big_records: int
    small_orgs: int
    small_records: int
    runs_per_org: int
    export_records: int
    repeats: int

    @property
    def orgs(self) -> int:
        return self.big_orgs + self.small_orgs

    @property
    def records(self) -> int:
        return self.big_orgs * self.big_records + self.small_orgs * self.small_records


FULL = Profile(10, 50_000, 990, 505, 10, 50_000, 30)
SMALL = Profile(2, 2_000, 18, 100, 3, 2_000, 5)
BIG_ORG = "big_01"  # the 50k-record org the per-org figures are measured on
EXPORT_ORG = "export_bench"


def generate(engine: Engine, profile: Profile, now: datetime) -> dict[str, float]:
    """Replace every accsync table's rows with the benchmark's data set; returns seconds per step."""
    shape = bench_data.DataShape(
        profile.big_orgs, profile.big_records, profile.small_orgs, profile.small_records, profile.runs_per_org
    )
    return bench_data.generate(engine, shape, now)


def counts(engine: Engine) -> dict[str, int]:
    """Rows per table, as the benchmark reports them."""
    return bench_data.counts(engine)
