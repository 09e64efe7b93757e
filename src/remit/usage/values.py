"""What a usage report must be before anything is written (pure): a declared meter, a value the meter can
hold, a timestamp inside the processor's window, an operation id.

Stripe accepts meter events up to 35 days in the past and 5 minutes in the future; a report outside that
window would only fail after a round trip, so it is refused here at once. Values are stored as whole numbers
of the meter's smallest unit (``value * 10^decimals``), which keeps sums exact on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from remit.config import MeterSpec
from remit.errors import RemitError

#: How far back and ahead of now the processor accepts a meter event's timestamp.
MAX_AGE = timedelta(days=35)
MAX_AHEAD = timedelta(minutes=5)
#: The longest operation id or customer id (the columns' width).
MAX_ID_LENGTH = 255
#: The operation id is the meter event's ``identifier`` at the processor, which Stripe caps at 100 characters:
#: a longer one is refused here, before anything is stored, rather than failed by the processor later.
MAX_OPERATION_ID_LENGTH = 100
#: The largest value one event may carry, in the meter's smallest unit (a signed 64-bit column).
MAX_UNITS = 2**63 - 1


class UsageRefused(RemitError):
    """A usage report that cannot be accepted; ``field`` names the bad field, ``code`` is stable."""

    def __init__(self, field: str, code: str, message: str) -> None:
        self.field = field
        self.code = code
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class UsageReport:
    """One usage report as a host makes it: who, which meter, how much, when (None: now), and the caller's
    operation id — the idempotency key of the record, the meter event's ``identifier`` at the processor, and
    (namespaced, see :func:`remit.usage.reporting.meter_idempotency_key`) its processor idempotency key."""

    customer_id: str
    meter: str
    value: int | Decimal | str
    operation_id: str
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class CheckedUsage:
    """A report that passed :func:`check`: the value in the meter's units, the timestamp and its UTC hour."""

    customer_id: str
    meter: str
    units: int
    operation_id: str
    timestamp: datetime
    hour: datetime


def _identifier(value: object, field: str, limit: int = MAX_ID_LENGTH) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageRefused(field, "parameter_missing", f"{field} is required")
    if len(value) > limit or "\x00" in value or value != value.strip():
        raise UsageRefused(field, "parameter_invalid", f"{field} must be at most {limit} plain characters")
    return value


def to_units(value: int | Decimal | str, meter: MeterSpec) -> int:
    """``value`` in the meter's smallest unit; :class:`UsageRefused` (``value``) when it is negative, not a
    number, or has more decimal places than the meter declares."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise UsageRefused("value", "parameter_invalid", "value must be a number")
    try:
        number = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise UsageRefused("value", "parameter_invalid", "value must be a number") from None
    if not number.is_finite() or number < 0:
        raise UsageRefused("value", "parameter_invalid", "value must be a non-negative number")
    scaled = number.scaleb(meter.decimals)
    if scaled != scaled.to_integral_value():
        places = "a whole number" if meter.decimals == 0 else f"at most {meter.decimals} decimal places"
        raise UsageRefused("value", "parameter_invalid", f"meter {meter.name} takes {places}")
    units = int(scaled)
    if units > MAX_UNITS:
        raise UsageRefused("value", "parameter_invalid", "value is too large")
    return units


def from_units(units: int, decimals: int) -> Decimal:
    """The value a number of units stands for (``Decimal``, exact)."""
    return Decimal(units).scaleb(-decimals)


def format_units(units: int, decimals: int) -> str:
    """The value as the processor takes it: plain digits, no exponent (``"12"``, ``"0.125"``)."""
    return format(from_units(units, decimals), "f")


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def check(report: UsageReport, meters: Mapping[str, MeterSpec], now: datetime) -> CheckedUsage:
    """``report`` checked against the declared ``meters`` and the processor's window around ``now``."""
    operation_id = _identifier(report.operation_id, "operation_id", MAX_OPERATION_ID_LENGTH)
    customer_id = _identifier(report.customer_id, "customer")
    meter = meters.get(report.meter) if isinstance(report.meter, str) else None
    if meter is None:
        raise UsageRefused("meter", "meter_unknown", "meter is not declared (see remit usage meters)")
    units = to_units(report.value, meter)
    moment = now if report.timestamp is None else report.timestamp
    if moment.tzinfo is None:
        raise UsageRefused("timestamp", "parameter_invalid", "timestamp must carry a time zone")
    if moment < now - MAX_AGE:
        raise UsageRefused("timestamp", "timestamp_too_old", "timestamp is more than 35 days in the past")
    if moment > now + MAX_AHEAD:
        raise UsageRefused("timestamp", "timestamp_in_future", "timestamp is more than 5 minutes in the future")
    moment = moment.astimezone(UTC)
    return CheckedUsage(customer_id, meter.name, units, operation_id, moment, hour_of(moment))


__all__ = [
    "MAX_AGE",
    "MAX_AHEAD",
    "MAX_ID_LENGTH",
    "MAX_OPERATION_ID_LENGTH",
    "CheckedUsage",
    "UsageRefused",
    "UsageReport",
    "check",
    "format_units",
    "from_units",
    "hour_of",
    "to_units",
]
