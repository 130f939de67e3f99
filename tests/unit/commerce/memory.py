"""In-memory stand-ins of the commerce stores for unit tests."""

from __future__ import annotations

import copy
from typing import Any


class MemoryPaymentStore:
    """`LocalPaymentStore` in a dict, with the SQL store's idempotency-key rule."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}

    def put(self, object_id: str, kind: str, data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        if idempotency_key in self.keys:
            return copy.deepcopy(self.objects[self.keys[idempotency_key]])
        self.keys[idempotency_key] = object_id
        self.objects[object_id] = copy.deepcopy(data)
        return copy.deepcopy(data)

    def get(self, object_id: str) -> dict[str, Any] | None:
        found = self.objects.get(object_id)
        return copy.deepcopy(found) if found is not None else None

    def update(self, object_id: str, data: dict[str, Any]) -> None:
        if object_id in self.objects:
            self.objects[object_id] = copy.deepcopy(data)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if o.get("object") == kind]
