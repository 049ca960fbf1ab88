"""An in-process LRU of rendered responses.

Entries are keyed by whatever the caller decides; the list endpoints key them by org,
profile, the org's data version and the URL (crm.records.caching), so a change to the org
retires them. Each worker process has its own; nothing here is shared or persisted.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class ResponseCache:
    def __init__(self, max_entries: int, max_entry_bytes: int = 1 << 20) -> None:
        self.max_entries = max_entries
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    def get(self, key: Hashable) -> bytes | None:
        body = self._entries.get(key)
        if body is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return body

    def put(self, key: Hashable, body: bytes) -> None:
        if not self.enabled or len(body) > self.max_entry_bytes:
            return
        self._entries[key] = body
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
