"""A record list's filter as it travels in the URL: read from query parameters, written into links.

The status screen, its CSV download and the JSON API read the same parameters, so a list
can be bookmarked, shared, downloaded exactly as shown, and asked for through the API:
`status`, `q`, `from`, `to`, `min`, `max`, `records`, `sort`, `dir`, `page`, `per_page`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query

from accsync_pipeline.store.record_search import RecordSearch, RecordSort, RecordView

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE = 1_000_000
MAX_IDS = 1000
MAX_TEXT = 200
# Beyond numeric(12,2): a bound no record can pass, and still a value every database compares.
MAX_AMOUNT = Decimal("9999999999.99")


def _amount(text: str | None) -> tuple[Decimal | None, str | None]:
    """`1 234,50` or `1234.5` as an amount; (None, problem) when it is not one."""
    if text is None or not text.strip():
        return None, None
    cleaned = text.strip().lower().replace("kr", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None, f"“{text.strip()}” is not an amount; it was left out of the filter"
    if not value.is_finite() or abs(value) > MAX_AMOUNT:
        return None, f"“{text.strip()}” is not an amount; it was left out of the filter"
    return value, None


def _date(text: str | None) -> tuple[date | None, str | None]:
    """A form's date (empty when not chosen); (None, problem) when it is not one."""
    if text is None or not text.strip():
        return None, None
    try:
        return date.fromisoformat(text.strip()), None
    except ValueError:
        return None, f"“{text.strip()}” is not a date (YYYY-MM-DD); it was left out of the filter"


@dataclass(frozen=True)
class RecordQuery:
    """What the URL asks for; `search(org_id)` turns it into the store's query."""

    view: RecordView | None = None
    text: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    record_ids: tuple[str, ...] | None = None
    sort: RecordSort = RecordSort.RECORD
    descending: bool = False
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE
    problems: tuple[str, ...] = ()

    def with_view(self, view: RecordView) -> RecordQuery:
        return replace(self, view=view)

    def search(self, org_id: str, view: RecordView, paged: bool = True) -> RecordSearch:
        return RecordSearch(
            org_id=org_id,
            view=view,
            text=self.text,
            date_from=self.date_from,
            date_to=self.date_to,
            amount_min=self.amount_min,
            amount_max=self.amount_max,
            record_ids=self.record_ids,
            sort=self.sort,
            descending=self.descending,
            limit=self.per_page if paged else 0,
            offset=(self.page - 1) * self.per_page if paged else 0,
        )

    @property
    def filtered(self) -> bool:
        """Whether anything beyond the view narrows the list."""
        return self.record_ids is not None or any(
            v is not None
            for v in (
                self.text,
                self.date_from,
                self.date_to,
                self.amount_min,
                self.amount_max,
                self.record_ids,
            )
        )

    def params(self, **changes: object) -> dict[str, str]:
        """The query parameters that say this (with `changes`), defaults left out."""
        q = replace(self, **changes)  # type: ignore[arg-type]
        values: dict[str, str] = {}
        if q.view is not None:
            values["status"] = str(q.view)
        if q.text:
            values["q"] = q.text
        if q.date_from:
            values["from"] = q.date_from.isoformat()
        if q.date_to:
            values["to"] = q.date_to.isoformat()
        if q.amount_min is not None:
            values["min"] = str(q.amount_min)
        if q.amount_max is not None:
            values["max"] = str(q.amount_max)
        if q.record_ids:
            values["records"] = ",".join(q.record_ids)
        if q.sort != RecordSort.RECORD:
            values["sort"] = str(q.sort)
        if q.descending:
            values["dir"] = "desc"
        if q.page != 1:
            values["page"] = str(q.page)
        if q.per_page != DEFAULT_PAGE_SIZE:
            values["per_page"] = str(q.per_page)
        return values

    def url(self, **changes: object) -> str:
        """`?status=failed&q=...` for a link to this list (with `changes`)."""
        encoded = urlencode(self.params(**changes))
        return f"?{encoded}" if encoded else "?"

    def sort_url(self, sort: str) -> str:
        """The link of a column heading: sort by it, or turn the order round if it is the sort already."""
        chosen = RecordSort(sort)
        descending = not self.descending if chosen == self.sort else False
        return self.url(sort=chosen, descending=descending, page=1)


def record_query(
    status: Annotated[
        RecordView | None, Query(description="failed | pending | skipped | exported | all")
    ] = None,
    q: Annotated[
        str | None,
        Query(max_length=MAX_TEXT, description="Volunteer, record id, amount, error text or code"),
    ] = None,
    date_from: Annotated[
        str | None, Query(alias="from", max_length=40, description="Expense date from, YYYY-MM-DD")
    ] = None,
    date_to: Annotated[
        str | None, Query(alias="to", max_length=40, description="Expense date to, YYYY-MM-DD")
    ] = None,
    amount_min: Annotated[
        str | None, Query(alias="min", max_length=40, description="Amount at least")
    ] = None,
    amount_max: Annotated[str | None, Query(alias="max", max_length=40, description="Amount at most")] = None,
    records: Annotated[
        str | None, Query(max_length=100_000, description="Record ids, comma-separated")
    ] = None,
    sort: Annotated[RecordSort, Query()] = RecordSort.RECORD,
    direction: Annotated[str, Query(alias="dir", pattern="^(asc|desc)$")] = "asc",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=max(PAGE_SIZES))] = DEFAULT_PAGE_SIZE,
) -> RecordQuery:
    """The list's filter from the URL; an unreadable amount is left out and said, never a 500."""
    low, low_problem = _amount(amount_min)
    high, high_problem = _amount(amount_max)
    first, first_problem = _date(date_from)
    last, last_problem = _date(date_to)
    ids = tuple(i.strip() for i in (records or "").split(",") if i.strip())[:MAX_IDS] or None
    return RecordQuery(
        view=status,
        text=q.strip() if q and q.strip() else None,
        date_from=first,
        date_to=last,
        amount_min=low,
        amount_max=high,
        record_ids=ids,
        sort=sort,
        descending=direction == "desc",
        page=page,
        per_page=per_page,
        problems=tuple(p for p in (first_problem, last_problem, low_problem, high_problem) if p),
    )
