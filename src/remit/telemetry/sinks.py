"""What remit tells outside, filtered one way and sent one way: ops events (:mod:`remit.telemetry.ops`) and
spans (:mod:`remit.telemetry.spans`) share this allow-list, this filter, this sink dispatcher and this log layout.

- :data:`ALLOWED_FIELDS`: the metadata keys anything told outside may carry — identifiers, names from fixed
  sets, codes, counts and amounts; :func:`safe_metadata` keeps only those (and of those, the ones a kind
  declares), as scalars, so an email, a name, a raw body, a session URL or a secret cannot leave, whatever a
  caller passes.
- :class:`Sinks`: callables that receive every event; one that raises is logged by its error type and skipped
  (the work that told it goes on).
- :func:`log_fields`: the log record's layout, ``{"<kind>_event": name, "<kind>": {metadata}}`` — an ops
  event's fields under ``ops``, a span's under ``span``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

#: Metadata keys any ops event or span may carry: identifiers, names from fixed sets, codes, counts and amounts.
ALLOWED_FIELDS = frozenset(
    {
        "event_id",
        "processor_event_id",
        "event_type",
        "job_id",
        "job_name",
        "queue",
        "attempt",
        "status",
        "customer_id",
        "subscription_id",
        "invoice_id",
        "charge_id",
        "refund_id",
        "payout_id",
        "operation_id",
        "account_id",
        "session_id",
        "object_type",
        "object_id",
        "schema_version",
        "reason",
        "source",
        "actor",
        "count",
        "matched",
        "replayed",
        "deleted",
        "dry_run",
        "error_type",
        "failure_code",
        "capability",
        "amount",
        "currency",
        "expected",
        "actual",
        "processor",
        "since",
        "older_than_days",
        "processed",
        "dead",
        "hurried",
        "stagger",
        "limit",
        "endpoint",
        "task",
        "code",
        "queues",
        "mail_id",
        "mail_kind",
        "meter_event_id",
        "meter",
        "deliveries",
        "enabled",
        "previous",
        "action",
        "scope",
        "decline_code",
        "fee",
        "package",
        "outcome",
    }
)


def safe_metadata(metadata: dict[str, Any], declared: frozenset[str] | None = None) -> dict[str, Any]:
    """Keep only allow-listed keys (and of those, the ``declared`` ones when given) with scalar values (pure)."""
    return {
        key: value
        for key, value in metadata.items()
        if key in ALLOWED_FIELDS
        and (declared is None or key in declared)
        and (value is None or isinstance(value, (str, int, float, bool)))
    }


def log_fields(kind: str, name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The ``extra`` of a log record telling event ``name`` of ``kind`` (``ops``, ``span``) (pure)."""
    return {f"{kind}_event": name, kind: metadata}


F = TypeVar("F", bound=Callable[..., None])


class Sinks(Generic[F]):
    """The callables every event of one ``kind`` (``ops``, ``span``) goes to (see the module docs); ``what``
    names them in the line logged when one fails (``ops event sink``, ``span handler``)."""

    def __init__(self, kind: str, what: str) -> None:
        self.kind = kind
        self.what = what
        self._sinks: list[F] = []

    def add(self, sink: F) -> Callable[[], None]:
        """Send every event to ``sink`` too; returns a remover."""
        self._sinks.append(sink)
        return lambda: self._sinks.remove(sink) if sink in self._sinks else None

    def registered(self) -> tuple[F, ...]:
        """The sinks added and not removed yet (a test checks none outlives the runtime that added it)."""
        return tuple(self._sinks)

    def send(self, log: logging.Logger, name: str, *args: Any) -> None:
        """Call every sink with ``args``; one that raises is logged on ``log`` (event ``name``, the error type)."""
        for sink in list(self._sinks):
            try:
                sink(*args)
            except Exception as exc:  # a host's sink must not undo the work that told the event
                log.error("%s failed", self.what, extra={f"{self.kind}_event": name, "error_type": type(exc).__name__})


__all__ = ["ALLOWED_FIELDS", "Sinks", "log_fields", "safe_metadata"]
