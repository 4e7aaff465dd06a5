"""Why a sync run failed, in words: the root cause's own message, never a wrapper's class name.

A failure reaches us wrapped (Dagster's step error around our `Failure` around the
connector's error; SQLAlchemy's "(sqlite3.OperationalError) ..."). Administrators need the
innermost message — "environment variable HLF_BC_SECRET_TYPO is not set" — so the wrapping
is peeled off here, once, for the op, the failure sensor and every screen. No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NO_MESSAGE = "the run stopped with an unexpected error that gave no message"
MAX_CAUSE_LENGTH = 500

# "pkg.module.SomeError: text" (Python's own formatting) and "(driver.SomeError) text" (SQLAlchemy).
_QUALIFIED_PREFIX = re.compile(
    r"^(?:(?:[A-Za-z_]\w*\.)+[A-Z]\w*|[A-Z]\w*(?:Error|Exception|Failure|Warning|Interrupt|Exit))(?:: |:$)"
)
_DRIVER_PREFIX = re.compile(r"^\((?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*\) ")


def cause_in_words(message: str | None, class_names: Iterable[str] = ()) -> str:
    """The first line of an error message without the class names Python and drivers put in front."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if not lines:
        return NO_MESSAGE
    text = lines[0]
    names = {n for n in class_names if n}
    changed = True
    while changed:
        changed = False
        for name in names:
            qualified = re.match(rf"^(?:[\w]+\.)*{re.escape(name)}: ?", text)
            if qualified:
                text, changed = text[qualified.end() :], True
        driver = _DRIVER_PREFIX.match(text)
        if driver:
            text, changed = text[driver.end() :], True
        qualified = _QUALIFIED_PREFIX.match(text)
        if qualified:
            text, changed = text[qualified.end() :], True
    text = text.strip()
    if not text:
        return NO_MESSAGE
    return text if len(text) <= MAX_CAUSE_LENGTH else text[: MAX_CAUSE_LENGTH - 1] + "…"


def retries_text(retries: int) -> str:
    """'after 3 retries', 'after 1 retry', or that there was none — never a count that did not happen."""
    if retries <= 0:
        return "without a retry"
    return f"after {retries} {'retry' if retries == 1 else 'retries'}"


def run_failure_description(connector_label: str, org_id: str, cause: str, retries: int) -> str:
    """One sentence for the Dagster UI: which connector of which org, how many retries, why."""
    return f"The sync of {org_id} to {connector_label} failed {retries_text(retries)}: {cause}"


def root_cause(error: BaseException, worded: tuple[type[BaseException], ...] = ()) -> BaseException:
    """The exception that says why: the first of a `worded` type in the chain, else the innermost.

    Errors of the `worded` types (the connectors' own) already speak to administrators; what
    they were raised from (a socket error, an HTTP status) is detail for the logs.
    """
    seen = {id(error)}
    while not isinstance(error, worded):
        inner = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        if inner is None or id(inner) in seen:
            break
        seen.add(id(inner))
        error = inner
    return error


def exception_in_words(error: BaseException, worded: tuple[type[BaseException], ...] = ()) -> str:
    """The root cause of `error` in its own words."""
    root = root_cause(error, worded)
    return cause_in_words(str(root), [type(root).__name__])
