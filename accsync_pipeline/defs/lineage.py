"""Where records come from and where they land, so that the asset graph reads source → export → ledger.

- `approved_records` is the app's table (a view in production): an observable source asset.
  Observing it records how many approved rows there are and when the newest changed; its
  data version moves whenever the app approves or edits a record.
- `xledger_ledger` and `business_central_ledger` are the accounting systems: external assets
  that accsync never materializes. An org uses one ledger or the other, and Dagster's kinds
  belong to a whole asset, not to a partition, so the ledger cannot be a kind of the export
  assets; two downstream assets show both destinations in the graph, each with its system's
  kind, and the reconciliation check on each export partition says whether that org's ledger
  holds exactly what accsync posted.
"""

from __future__ import annotations

import warnings

import dagster as dg

from accsync_pipeline.defs.resources import AccsyncDatabase
from accsync_pipeline.store.source_rows import source_summary

OWNERS = ["team:accsync"]
APPROVED_RECORDS = dg.AssetKey("approved_records")


# The decorator is beta in Dagster 1.13; its warning would print on every load of the location.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)

    @dg.observable_source_asset(
        key=APPROVED_RECORDS,
        group_name="accsync",
        description="Approved expense records from the volunteer app (the source contract table).",
        tags={"dagster/kind/sql": ""},
    )
    def approved_records(accsync_db: AccsyncDatabase) -> dg.ObserveResult:
        """Counts the approved rows and notes the newest change; the data version follows the newest edit."""
        with accsync_db.engine.connect() as conn:
            count, newest, orgs = source_summary(conn)
        newest_text = newest.isoformat() if newest is not None else "-"
        return dg.ObserveResult(
            data_version=dg.DataVersion(f"{count}@{newest_text}"),
            metadata={
                "approved_records": dg.MetadataValue.int(int(count)),
                "organizations": dg.MetadataValue.int(int(orgs)),
                "newest_change": dg.MetadataValue.text(newest_text),
            },
        )


def ledger_specs(export_keys: list[dg.AssetKey]) -> list[dg.AssetSpec]:
    """The two accounting systems, downstream of the export assets; external, never materialized here."""
    return [
        dg.AssetSpec(
            "xledger_ledger",
            description="Xledger general ledger (GL import items, keyed by extIdentifier `accsync-…`).",
            deps=export_keys,
            group_name="accsync",
            kinds={"xledger"},
            owners=OWNERS,
        ),
        dg.AssetSpec(
            "business_central_ledger",
            description=(
                "Dynamics 365 Business Central: journal lines (externalDocumentNumber `ACCSYNC-…`) "
                "and, once posted, general ledger entries (documentNumber `AS-…`)."
            ),
            deps=export_keys,
            group_name="accsync",
            kinds={"dynamics365"},
            owners=OWNERS,
        ),
    ]
