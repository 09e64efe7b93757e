"""The caller's transaction, or one of our own: how a public function that writes "in the caller's
transaction" treats a connection that has none open.

``runtime.db.connect()`` hands out a connection with no transaction; SQLAlchemy would begin one on the first
statement and nothing would ever commit it, so closing the connection would roll the write back without a
word while the function had answered that it stored it. :func:`within` commits such a write itself, and
joins a transaction the caller opened (``runtime.db.begin()``, a job's or a handler's connection), which
then commits or rolls back with the caller's other writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection


@asynccontextmanager
async def within(conn: AsyncConnection) -> AsyncIterator[AsyncConnection]:
    """``conn`` inside a transaction: the caller's when one is open, else one begun here and committed on
    leaving (rolled back on an exception)."""
    if conn.in_transaction():
        yield conn
        return
    async with conn.begin():
        yield conn


__all__ = ["within"]
