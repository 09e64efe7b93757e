"""The ledger event record, and the rule that keeps customer PII out of ledger data.

The ledger is kept forever and cannot be edited (the database refuses it), so anything written there can
never be erased on a customer's request. Its data therefore holds identifiers and amounts only; keys that
name personal data are refused at write time, before they become permanent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

#: Keys whose values are personal data in processor objects; refused anywhere in ledger data.
PII_KEYS = frozenset(
    {
        "email",
        "name",
        "phone",
        "address",
        "shipping",
        "billing_details",
        "customer_email",
        "customer_name",
        "customer_phone",
        "customer_address",
        "customer_shipping",
        "customer_details",
        "receipt_email",
        "individual_name",
        "business_name",
        "first_name",
        "last_name",
    }
)


def pii_keys_in(data: Any, path: str = "") -> list[str]:
    """The dotted paths of PII-named keys anywhere in ``data`` (names of keys only, never values)."""
    found: list[str] = []
    if isinstance(data, Mapping):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if str(key).lower() in PII_KEYS:
                found.append(where)
            found.extend(pii_keys_in(value, where))
    elif isinstance(data, (list, tuple)):
        for index, item in enumerate(data):
            found.extend(pii_keys_in(item, f"{path}[{index}]"))
    return found


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One ledger row. ``schema_version`` is the version ``data`` is in (current, once read via ``read``);
    ``stored_version`` is the version the row was written in."""

    id: int
    type: str
    schema_version: int
    stored_version: int
    subject: str
    actor: str
    data: dict[str, Any]
    idempotency_key: str
    recorded_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> LedgerEvent:
        version = int(row["schema_version"])
        return cls(
            id=int(row["id"]),
            type=row["type"],
            schema_version=version,
            stored_version=version,
            subject=row["subject"],
            actor=row["actor"],
            data=dict(row["data"] or {}),
            idempotency_key=row["idempotency_key"],
            recorded_at=row["recorded_at"],
        )

    def with_data(self, data: dict[str, Any], schema_version: int) -> LedgerEvent:
        return replace(self, data=data, schema_version=schema_version)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view for the CLI and the API."""
        return {
            "id": self.id,
            "type": self.type,
            "schema_version": self.schema_version,
            "stored_version": self.stored_version,
            "subject": self.subject,
            "actor": self.actor,
            "data": self.data,
            "idempotency_key": self.idempotency_key,
            "recorded_at": self.recorded_at.isoformat(),
        }


__all__ = ["PII_KEYS", "LedgerEvent", "pii_keys_in"]
