"""The fake processor's engine: one call in, one Stripe-shaped answer out, its events signed and delivered.

:meth:`FakeEngine.call` is the single entry of both faces. In order it: resolves the route (404 for unknown
URLs), checks the requested API version (:mod:`~remit.processor.fake.versions`), checks the parameters against
the route's declaration (:mod:`~remit.processor.fake.schema`: Stripe's 400s for unknown, missing and malformed
ones), consumes a scripted failure if one is due (429 with ``Retry-After``, 500, 401, or a timeout — before any
state changes), claims the idempotency key (a repeat answers the stored result and emits nothing), runs the
operation in one transaction on the fake's clock (a read-only one for a GET), expands what ``expand[]`` asks
for, stores the answer under the key, commits, and only then signs and delivers the events the call emitted.
Every answer carries a ``Request-Id`` (``req_fake…``; an error body names it in ``request_log_url``) and is
rendered in the requested version's shapes; a replay says ``Idempotent-Replayed: true``. Answers and events
carry objects as Stripe sends them: a subscription's ``items`` and an invoice's ``lines`` cut to their first
ten (:func:`~remit.processor.fake.shapes.billing.as_sent`), while the stored objects keep every entry. Delivery
happens after commit so a receiver that fetches the object back sees it; a failed delivery is recorded on the
event and never fails the call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.clock import Clock
from remit.db.engine import Database
from remit.db.tables.fake import fake_events, fake_objects
from remit.processor.fake import failures, idempotency, schema, versions
from remit.processor.fake.clock import FakeClock, unix
from remit.processor.fake.delivery import Delivery, DeliveryResult, SignedEvent
from remit.processor.fake.errors import API_ERROR, INVALID_REQUEST, RATE_LIMIT_ERROR, ApiError
from remit.processor.fake.events import DeliveryStatus, StoredEvent, list_events, record_delivery
from remit.processor.fake.expand import Lookup, expand
from remit.processor.fake.failures import FailureKind, ScriptedFailure
from remit.processor.fake.params import Params
from remit.processor.fake.shapes.billing import as_sent
from remit.processor.fake.shapes.customers import deleted as deleted_stub
from remit.processor.fake.store import find_object, new_id
from remit.processor.fake.tx import Tx
from remit.signing import stripe_header


class FakeTimeout(Exception):
    """A scripted timeout: the caller should wait ``hold_seconds`` and answer nothing useful."""

    def __init__(self, method: str, hold_seconds: float) -> None:
        super().__init__(f"{method} timed out (scripted)")
        self.method = method
        self.hold_seconds = hold_seconds


@dataclass(frozen=True, slots=True)
class FakeResponse:
    """One answer of the fake, as Stripe would send it."""

    status: int
    body: dict[str, Any]
    method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    events: tuple[StoredEvent, ...] = ()
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def event_ids(self) -> tuple[str, ...]:
        return tuple(event.id for event in self.events)


@dataclass(frozen=True, slots=True)
class Delivered:
    """What became of one event's delivery (``duplicate``: the receiver already had it)."""

    event_id: str
    event_type: str
    status_code: int | None
    error: str | None
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def new_request_id() -> str:
    """A request id for an answer that changed nothing (a read, a refusal): random, since nothing was written
    to count it by. (A call that changes the world takes the next ``req_fake…`` number, which its events name.)
    """
    return "req_fake" + secrets.token_hex(7)


def _headers(request_id: str, version: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {"Request-Id": request_id, "Stripe-Version": version, **(extra or {})}


def _refusal(error: ApiError, method: str | None) -> FakeResponse:
    """The answer to a call refused before or while it ran (nothing it did was kept)."""
    request_id = new_request_id()
    headers = {"Request-Id": request_id, **error.headers}
    return FakeResponse(error.status, error.body(request_id), method, headers=headers)


def _failure_response(method: str, failure: ScriptedFailure) -> FakeResponse:
    if failure.kind is FailureKind.RATE_LIMITED:
        error = ApiError(
            429,
            RATE_LIMIT_ERROR,
            "Too many requests hit the API too quickly.",
            code="rate_limit",
            headers={"Retry-After": str(failure.retry_after or failures.DEFAULT_RETRY_AFTER)},
        )
        return _refusal(error, method)
    if failure.kind is FailureKind.EXPIRED_KEY:
        return _refusal(ApiError(401, INVALID_REQUEST, "Expired API Key provided.", code="api_key_expired"), method)
    return _refusal(ApiError(500, API_ERROR, "An unknown error occurred (scripted by the fake processor)."), method)


def _lookup(conn: AsyncConnection) -> Lookup:
    async def lookup(object_id: str) -> dict[str, Any] | None:
        found = await find_object(conn, object_id)
        if found is None:
            return None
        return deleted_stub(found.id, found.object) if found.deleted else found.data

    return lookup


logger = logging.getLogger(__name__)

#: How often a delivery deferred to a joined caller's commit looks whether the transaction ended.
DEFERRED_POLL_S = 0.02


def _log_failed_delivery(task: asyncio.Task[list[Delivered]]) -> None:
    """A deferred delivery's failure, logged (its type only: an error's text may quote the event)."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        logger.warning("fake processor: a delivery deferred to a commit failed (%s)", type(error).__name__)


#: The caller's transaction the fake's calls join (see :meth:`FakeEngine.joining`).
_JOINED: ContextVar[AsyncConnection | None] = ContextVar("remit_fake_joined", default=None)


class FakeEngine:
    """The fake world over remit's database. ``delivery`` receives every event after its call commits;
    ``secret`` (a string or a function returning one) signs them."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        delivery: Delivery | None = None,
        secret: str | Callable[[], str] | None = None,
        signing_time: Callable[[], int] | None = None,
    ) -> None:
        self.db = db
        self.clock = FakeClock(clock)
        self.delivery = delivery
        self._secret = secret
        self._signing_time = signing_time
        #: Deliveries waiting for a joined caller's commit, then running (see :meth:`joining`).
        self._deferred: set[asyncio.Task[list[Delivered]]] = set()
        self._last_deferred: asyncio.Task[list[Delivered]] | None = None

    # joining a caller's transaction -------------------------------------------------------------------------
    def same_database(self, conn: AsyncConnection) -> bool:
        """Whether ``conn`` is on the database this fake keeps its world in."""
        return str(conn.engine.url) == str(self.db.engine.url)

    @contextmanager
    def joining(self, conn: AsyncConnection) -> Iterator[None]:
        """Within the block, this fake's calls run in ``conn``'s open transaction (each in a savepoint) instead
        of one of their own, and their events are delivered once that transaction commits — never if it rolls
        back, when the objects the calls made are gone too. For a caller that writes its own rows and calls the
        processor in one transaction (:mod:`remit.billing.actions`): on SQLite a transaction of the fake's own
        would wait for the caller's write lock, and the caller for the fake. Outside ``conn``'s database it
        changes nothing."""
        if not self.same_database(conn):
            yield
            return
        token = _JOINED.set(conn)
        try:
            yield
        finally:
            _JOINED.reset(token)

    def _deliver_after_commit(self, conn: AsyncConnection, events: list[StoredEvent]) -> None:
        """Deliver ``events`` once ``conn``'s transaction has ended, if it committed them: a rolled-back
        transaction took them (and the objects they tell of) with it, so they are not in the world to send."""
        if not events:
            return

        previous = self._last_deferred

        async def after() -> list[Delivered]:
            _JOINED.set(None)  # this task copied the caller's context: its calls must not join ``conn``
            while conn.in_transaction():  # noqa: ASYNC110 - a transaction's end sets no event to await
                await asyncio.sleep(DEFERRED_POLL_S)
            if previous is not None and not previous.done():
                await asyncio.wait([previous])  # in the order the calls were made
            ids = [event.id for event in events]
            async with self.db.connect() as own:
                kept = set((await own.execute(sa.select(fake_events.c.id).where(fake_events.c.id.in_(ids)))).scalars())
            return await self.deliver([event for event in events if event.id in kept])

        task = asyncio.get_running_loop().create_task(after())
        self._last_deferred = task
        self._deferred.add(task)
        task.add_done_callback(self._deferred.discard)
        task.add_done_callback(_log_failed_delivery)

    async def settle(self) -> list[Delivered]:
        """Wait for the deliveries deferred to joined callers' commits; their outcomes."""
        outcomes: list[Delivered] = []
        while self._deferred:
            for done in await asyncio.gather(*list(self._deferred)):
                outcomes.extend(done)
        return outcomes

    # calls ------------------------------------------------------------------------------------------------
    async def call(
        self,
        http_method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        api_version: str | None = None,
        deliver: bool = True,
    ) -> FakeResponse:
        """Answer one API call in ``api_version``'s shapes (``None``: the account's); raises
        :class:`FakeTimeout` for a scripted timeout."""
        # The routes (every operation's module) load with the first request, not with the engine: a runtime
        # builds its processor whether or not the command ever calls it (``remit jobs list`` does not).
        from remit.processor.fake.routes import resolve

        data = dict(params or {})
        method: str | None = None
        try:
            match = resolve(http_method, path)
            method = match.route.name
            version = versions.requested(api_version)
            data = schema.conform(match.route.params, data, version)
        except ApiError as exc:
            return _refusal(exc, method)
        key = idempotency_key if match.route.mutating else None
        failure: ScriptedFailure | None = None
        tx: Tx | None = None
        try:
            async with self._transaction(method, writes=match.route.mutating) as (conn, may_fail):
                failure = await failures.consume(conn, method) if may_fail else None
                if failure is None:
                    now = await self.clock.now(conn)
                    if key:
                        replay = await idempotency.claim(
                            conn, key, route=method, now=now, print_=idempotency.fingerprint(method, path, data)
                        )
                        if replay is not None:
                            return FakeResponse(
                                replay.status,
                                versions.render(replay.body, version),
                                method,
                                headers=_headers(new_request_id(), version, {"Idempotent-Replayed": "true"}),
                                replayed=True,
                            )
                    request_id = await new_id(conn, "req") if match.route.mutating else new_request_id()
                    tx = Tx(conn, unix(now), request_id=request_id, idempotency_key=key)
                    params_ = Params(data)
                    body = await match.run(tx, params_)
                    body = as_sent(await expand(body, params_.strings("expand"), _lookup(conn)))
                    status = 200
                    if tx.error is not None:
                        status, body = tx.error.status, tx.error.body(request_id)
                    if key:
                        await idempotency.store(conn, key, status, body)
        except ApiError as exc:
            return _refusal(exc, method)
        if failure is not None:
            if failure.kind is FailureKind.TIMEOUT:
                raise FakeTimeout(method, failure.hold_seconds or failures.DEFAULT_HOLD_SECONDS)
            return _failure_response(method, failure)
        assert tx is not None
        assert tx.request_id is not None
        headers = _headers(tx.request_id, version, tx.error.headers if tx.error is not None else {})
        if deliver:
            joined = _JOINED.get()
            if joined is not None:
                self._deliver_after_commit(joined, tx.events)
            else:
                await self.deliver(tx.events)
        return FakeResponse(status, versions.render(body, version), method, headers=headers, events=tuple(tx.events))

    @asynccontextmanager
    async def _transaction(self, method: str, *, writes: bool) -> AsyncIterator[tuple[AsyncConnection, bool]]:
        """The transaction one call runs in. A read (a GET with no failure scripted for it) runs in a read-only
        one on a connection of its own (:meth:`~remit.db.engine.Database.read`): the mirror lists an invoice's
        lines or a subscription's items from this fake inside its dispatch transaction, which on SQLite holds the
        write lock, and a read wanting that lock or a pooled connection would wait for its own caller. Consuming
        a scripted failure is a write, so such a call takes the lock. Yields the connection and whether a
        scripted failure may be due (a read that looked and found none need not look again)."""
        joined = _JOINED.get()
        if joined is not None:
            async with joined.begin_nested():
                yield joined, True
            return
        if not writes:
            async with self.db.read() as conn:
                if not await failures.is_due(conn, method):
                    yield conn, False
                    return
        async with self.db.begin() as conn:
            yield conn, True

    # time -------------------------------------------------------------------------------------------------
    async def now(self) -> datetime:
        async with self.db.connect() as conn:
            return await self.clock.now(conn)

    async def advance_clock(self, seconds: int, *, deliver: bool = True) -> tuple[datetime, list[StoredEvent]]:
        """Move the fake's time forward and apply what came due (renewals, trial ends, retries, expiries)."""
        from remit.processor.fake import renewals  # the operations it runs load here, as the routes do

        async with self.db.begin() as conn:
            now = await self.clock.advance(conn, seconds)
            tx = Tx(conn, unix(now))
            await renewals.run_due(tx)
        if deliver:
            await self.deliver(tx.events)
        return now, tx.events

    # failures ---------------------------------------------------------------------------------------------
    async def fail_next(
        self,
        kind: FailureKind | str,
        *,
        count: int = 1,
        method: str | None = None,
        retry_after: int | None = None,
        hold_seconds: float | None = None,
    ) -> ScriptedFailure:
        """Script "the next ``count`` calls (of ``method``) answer 429 / 500 / 401 / time out"."""
        parsed = kind if isinstance(kind, FailureKind) else FailureKind.parse(kind)
        async with self.db.begin() as conn:
            return await failures.script(
                conn,
                parsed,
                count=count,
                method=method,
                retry_after=retry_after,
                hold_seconds=hold_seconds,
                now=await self.clock.now(conn),
            )

    async def scripted_failures(self) -> list[ScriptedFailure]:
        async with self.db.connect() as conn:
            return await failures.pending(conn)

    async def clear_failures(self) -> int:
        async with self.db.begin() as conn:
            return await failures.clear(conn)

    # events -----------------------------------------------------------------------------------------------
    async def events(
        self,
        *,
        type_: str | None = None,
        status: DeliveryStatus | None = None,
        limit: int | None = None,
        newest_first: bool = True,
    ) -> list[StoredEvent]:
        async with self.db.connect() as conn:
            return await list_events(conn, type_=type_, status=status, limit=limit, newest_first=newest_first)

    async def deliver(self, events: list[StoredEvent]) -> list[Delivered]:
        """Sign and send ``events`` in order, recording each outcome."""
        if self.delivery is None or not events:
            return []
        secret = self._current_secret()
        async with self.db.connect() as conn:
            now = await self.clock.now(conn)
        timestamp = self._signing_time() if self._signing_time else unix(now)
        outcomes: list[Delivered] = []
        for event in events:
            signed = SignedEvent(event.id, event.type, event.payload, stripe_header(event.payload, secret, timestamp))
            result: DeliveryResult = await self.delivery(signed)
            outcomes.append(Delivered(event.id, event.type, result.status_code, result.error, result.duplicate))
        async with self.db.begin() as conn:
            for outcome in outcomes:
                await record_delivery(conn, outcome.event_id, status_code=outcome.status_code, ok=outcome.ok, at=now)
        return outcomes

    async def redeliver(self, *, include_delivered: bool = False) -> list[Delivered]:
        """Send again every event not yet delivered (or every event), oldest first."""
        stored = await self.events(newest_first=False)
        todo = [e for e in stored if include_delivered or e.delivery_status is not DeliveryStatus.DELIVERED]
        return await self.deliver(todo)

    def _current_secret(self) -> str:
        secret = self._secret() if callable(self._secret) else self._secret
        if not secret:
            raise ValueError("the fake processor has no webhook secret to sign with")
        return secret

    # inspection -------------------------------------------------------------------------------------------
    async def endpoint_secret(self, endpoint_id: str) -> str | None:
        """The signing secret the fake keeps for one of its webhook endpoints (for ``webhooks check``)."""
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(fake_objects.c.private).where(
                        fake_objects.c.id == endpoint_id, fake_objects.c.object == "webhook_endpoint"
                    )
                )
            ).first()
        if row is None:
            return None
        private = row.private if isinstance(row.private, dict) else json.loads(row.private)
        secret = private.get("secret")
        return str(secret) if secret else None


__all__ = ["Delivered", "FakeEngine", "FakeResponse", "FakeTimeout", "new_request_id"]
