"""How many times each record stands in a sandbox ledger, counted the way the real systems keep it.

Business Central keeps keys upper-cased and moves posted journal lines into general ledger
entries; the sandbox lists every stored line once, in the journal or posted, with the key it
was sent with. Xledger stores a balanced pair of lines per record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from accsync_pipeline.domain.records import idempotency_key
from accsync_pipeline.sandbox.server import RunningSandbox

KEY_FIELD = {"xledger": "extIdentifier", "dynamics": "externalDocumentNumber"}
LINES_PER_RECORD = {"xledger": 2, "dynamics": 1}


def key_counts(sandbox: RunningSandbox, connector_type: str) -> Counter[str]:
    """Upper-cased key → records posted under it (a half pair counts as one more)."""
    lines = Counter(str(p[KEY_FIELD[connector_type]]).upper() for p in sandbox.postings())
    per_record = LINES_PER_RECORD[connector_type]
    return Counter({key: -(-count // per_record) for key, count in lines.items()})


def records_in_ledger(
    sandbox: RunningSandbox, connector_type: str, org_id: str, record_ids: Sequence[str]
) -> dict[str, int]:
    """record_id → how many times the ledger holds it, for every record asked and every stray key.

    A key in the ledger that belongs to none of `record_ids` shows as `?KEY`, so that an
    equality with `dict.fromkeys(record_ids, 1)` also proves nothing else was posted.
    """
    counts = key_counts(sandbox, connector_type)
    answer = {rid: counts.pop(idempotency_key(org_id, rid).upper(), 0) for rid in record_ids}
    answer.update({f"?{key}": count for key, count in counts.items()})
    return answer
