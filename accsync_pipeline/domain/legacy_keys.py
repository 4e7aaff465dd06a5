"""Which records may stand in a ledger under the keys an older accsync sent (their legacy keys).

Keys were made unique under upper-casing in one release; before it, a short id with lower-case
letters went out readable (`accsync-hlf-r7`), after it hashed. A lookup that also asks for a
record's legacy keys finds what an older accsync posted, at the cost of twice the Business
Central lookup requests for such ids. Only records an older accsync could have sent need it.

The database keeps the instant it started using the current keys (`current_keys_since`: the
migration that introduced the mark, run again on a database restored from a backup older than
it, so a restore only moves the mark later). An older accsync sends a record only after its
approval, so a record approved later than that instant, with a margin, was never sent under
its legacy keys. The export passes the earliest approval it knows of (the app may move
`approved_at` on a re-approval; intake keeps the first).
"""

from __future__ import annotations

from datetime import datetime, timedelta

# The key scheme that made keys unique under upper-casing, as the database names it
# (`ledger_key_schemes.scheme`).
CURRENT_KEY_SCHEME = "unique_under_upper_casing"

# Covers what the mark cannot see: during a rolling deploy old workers (and runs they
# launched) go on sending after the migration ran, and `approved_at` is written by the app's
# clock while the mark is ours. A day is far beyond a deploy's overlap and any clock skew
# that would go unnoticed; too long a margin only costs lookups, too short one a posting twice.
LEGACY_KEYS_MARGIN = timedelta(hours=24)


def may_hold_legacy_keys(approved_at: datetime, current_keys_since: datetime | None) -> bool:
    """True when an older accsync could have sent this record, so a lookup must ask for its legacy keys.

    Without a mark (`current_keys_since` None) nothing is known about when the keys changed:
    every record may.
    """
    if current_keys_since is None:
        return True
    return approved_at < current_keys_since + LEGACY_KEYS_MARGIN
