"""Events as the console shows them: flattened fields and a short summary line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SUMMARY_FIELDS = ("message", "event.original", "event.action")


def flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """{"a": {"b": 1}} → {"a.b": "1"}; lists of scalars are joined, other lists kept as JSON."""
    out: dict[str, str] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            scalars = all(not isinstance(v, dict | list) for v in value)
            out[name] = ", ".join(str(v) for v in value) if scalars else json.dumps(value, ensure_ascii=False)
        elif value is not None:
            out[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return dict(sorted(out.items()))


@dataclass
class Event:
    id: str
    index: str
    timestamp: datetime | None
    fields: dict[str, str]

    @property
    def summary(self) -> str:
        for name in SUMMARY_FIELDS:
            if self.fields.get(name):
                return self.fields[name][:300]
        return ""

    @property
    def organisation(self) -> str:
        return self.fields.get("organization.id", "")

    @property
    def host(self) -> str:
        return self.fields.get("host.name", "")

    @classmethod
    def from_hit(cls, hit: dict[str, Any]) -> Event:
        fields = flatten(hit.get("_source") or {})
        return cls(id=hit["_id"], index=hit.get("_index", ""), timestamp=_timestamp(fields.get("@timestamp")),
                   fields=fields)


def _timestamp(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
