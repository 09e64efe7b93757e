"""Per-token request counts of the internal API's rate limit (:mod:`remit.guard.ratelimit`)."""

from sqlalchemy import BigInteger, Column, Integer, PrimaryKeyConstraint, String, Table

from remit.db.tables.base import metadata

#: One row per (caller, window): how many requests the caller made in that window. ``window`` is the window's
#: number since the epoch (``floor(now / window_seconds)``). A caller has at most two rows at a time (the
#: current and the previous window); older ones are deleted when a new window starts.
rate_limits = Table(
    "remit_rate_limits",
    metadata,
    Column("key", String(128), nullable=False),
    Column("window", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("key", "window", name="pk_remit_rate_limits"),
)
