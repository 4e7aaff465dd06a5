"""What a sandbox has posted: in memory, optionally saved to a JSON file so a demo survives restarts."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class Ledger:
    """Postings in the order they were stored, indexed by idempotency key."""

    def __init__(self, key_field: str, path: Path | None = None) -> None:
        self.key_field = key_field
        self.path = path
        self.postings: list[dict[str, Any]] = []
        self.by_key: dict[str, list[dict[str, Any]]] = {}
        self.sequence = 0
        if path is not None and path.exists():
            saved = json.loads(path.read_text(encoding="utf-8"))
            self.sequence = int(saved.get("sequence", 0))
            self._index(saved.get("postings", []))

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def add(self, postings: Iterable[dict[str, Any]]) -> None:
        """Store postings together; the caller has validated all of them first."""
        self._index(postings)
        self.save()

    def with_keys(self, keys: Iterable[str]) -> list[dict[str, Any]]:
        return [posting for key in dict.fromkeys(keys) for posting in self.by_key.get(key, [])]

    def remove(self, key: str) -> int:
        """Delete every posting whose key equals `key` without regard to case, as an accountant
        deleting an entry by hand would; returns how many went."""
        kept = [p for p in self.postings if str(p.get(self.key_field)).upper() != key.upper()]
        removed = len(self.postings) - len(kept)
        self.postings.clear()
        self.by_key.clear()
        self._index(kept)
        self.save()
        return removed

    def clear(self) -> None:
        self.postings.clear()
        self.by_key.clear()
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        # Write then rename, so a crash never leaves half a file.
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        temporary.write_text(
            json.dumps({"sequence": self.sequence, "postings": self.postings}), encoding="utf-8"
        )
        os.replace(temporary, self.path)

    def _index(self, postings: Iterable[dict[str, Any]]) -> None:
        for posting in postings:
            self.postings.append(posting)
            self.by_key.setdefault(str(posting.get(self.key_field)), []).append(posting)
