"""Billing periods: adding a price's interval to a moment, calendar-aware (Jan 31 + 1 month = Feb 28)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

DAY = 86400
TRIAL_WILL_END_NOTICE = 3 * DAY


def add_interval(start: int, interval: str, count: int = 1) -> int:
    """``start`` (Unix seconds) moved forward by ``count`` ``interval``\\ s (day, week, month or year)."""
    moment = datetime.fromtimestamp(start, UTC)
    if interval == "day":
        return int((moment + timedelta(days=count)).timestamp())
    if interval == "week":
        return int((moment + timedelta(weeks=count)).timestamp())
    months = count * (12 if interval == "year" else 1)
    if interval not in {"month", "year"}:
        raise ValueError(f"unknown interval {interval!r}")
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


__all__ = ["DAY", "TRIAL_WILL_END_NOTICE", "add_interval"]
