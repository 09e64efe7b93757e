"""Running remit as a service: migrate, serve the API, and ``up`` (API, worker and scheduler in one process).

``remit up`` is the embedded default a fresh machine runs, so its start-up is deliberate and loud about what
goes wrong: settings are validated first (by the CLI), then the database is waited for with backoff (one log
line per try, then a non-zero exit), then migrated, and only then do uvicorn and the job worker start, on one
asyncio loop. SIGTERM or SIGINT asks both to stop gracefully: uvicorn stops accepting and drains its
requests, the worker stops claiming and lets in-flight jobs finish within its grace period. A second SIGINT
forces the HTTP side down. If either half stops on its own (a crash, a port already taken), the other is
stopped too and the process exits non-zero, so a supervisor restarts the pair instead of running half of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import uvicorn

from remit.api.app import create_app
from remit.config import Settings
from remit.db import migrate
from remit.db.engine import create_sync_engine
from remit.errors import DatabaseUnavailable, ExitCode
from remit.parts import build_runtime
from remit.runtime import Runtime
from remit.telemetry.logging import server_access_log

log = logging.getLogger("remit.service")

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class BackgroundWorker(Protocol):
    """What ``remit up`` needs of the job worker (:class:`remit.jobs.worker.Worker`)."""

    async def run(self) -> None: ...

    def request_stop(self) -> None: ...


WorkerFactory = Callable[[Runtime], BackgroundWorker]


def default_worker(runtime: Runtime) -> BackgroundWorker:
    """The job engine's worker on ``runtime`` (which also runs the scheduler: cron, rescue, pruning), woken
    by the API in this process after it stores an event."""
    worker = runtime.worker()
    runtime.job_wakers.append(worker.wake)
    return worker


def service_runtime(settings: Settings, *, with_worker: bool) -> Runtime:
    """The runtime ``remit up`` (``with_worker``) or ``remit serve`` runs: remit's parts; for ``remit up`` also
    the host's modules (``REMIT_JOB_MODULES``: its worker runs their jobs and handlers) or — when
    :func:`remit.sandbox.applies` (the fake processor, no host modules) — the embedded sandbox host app's
    handlers after remit's, as a host's would run. ``remit serve`` runs no jobs and imports no host module;
    ``remit worker`` never plays the sandbox."""
    from remit import sandbox

    extra = [sandbox.PART] if with_worker and sandbox.applies(settings) else []
    runtime = build_runtime(settings, modules=None if with_worker else (), extra=extra, runs_scheduler=with_worker)
    if extra:
        log.info("sandbox host handlers loaded", extra={"handlers": [h.name for h in sandbox.PART.event_handlers]})
    return runtime


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where a started service can be reached; ``remit up`` prints these."""

    base_url: str

    @property
    def health(self) -> str:
        return f"{self.base_url}/health"

    @property
    def metrics(self) -> str:
        return f"{self.base_url}/metrics"

    @property
    def docs(self) -> str:
        """The interactive API documentation (Swagger UI)."""
        return f"{self.base_url}/docs"

    @property
    def openapi(self) -> str:
        """The OpenAPI document itself."""
        return f"{self.base_url}/openapi.json"


def served_settings(settings: Settings, host: str, port: int) -> Settings:
    """``settings`` with ``REMIT_URL`` pointing at this service when it was not set: the fake processor in
    this process delivers its webhooks there, so ``remit up --port 9000`` receives its own events rather than
    sending them to the default port. Left alone for port 0 (not known before binding: the CLI binds
    ``--port 0`` first with :func:`bind_listener` and passes the port it got)."""
    if "url" in settings.model_fields_set or port == 0:
        return settings
    return settings.model_copy(update={"url": f"http://{display_host(host)}:{port}"})


def bind_listener(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` as uvicorn binds one, for the server to listen on. ``remit up --port
    0`` binds first so the port is known before the runtime is composed: ``REMIT_URL`` (where the fake delivers
    this process's webhooks) then follows it instead of posting to the default port, where another remit may
    be listening."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def display_host(host: str) -> str:
    """The host a person should type: a wildcard bind is reachable on loopback."""
    if host in {"0.0.0.0", "", "::"}:  # noqa: S104 - comparing, not binding
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on ``host``:``port`` (checked before migrating, so a second
    ``remit up`` says so at once instead of after start-up); port 0 is never in use."""
    if port == 0:
        return False
    try:
        probe = bind_listener(host, port)  # SO_REUSEADDR as uvicorn binds: TIME_WAIT is not "in use"
    except socket.gaierror:
        return False  # a host that does not resolve: uvicorn says so when it binds
    except OSError as exc:
        return exc.errno == errno.EADDRINUSE
    probe.close()
    return False


def free_port_near(host: str, port: int, tries: int = 20) -> int | None:
    """The first port after ``port`` that nothing listens on (for the hint of a port in use)."""
    return next((p for p in range(port + 1, min(port + 1 + tries, 65536)) if not port_in_use(host, p)), None)


# --- migrations ---------------------------------------------------------------------------------------------


def migrate_database(database_url: str, revision: str = "head") -> str | None:
    """Upgrade the database at ``database_url`` to ``revision``; return the revision it is at afterwards."""
    engine = create_sync_engine(database_url)
    try:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine, revision)
        after = migrate.current_revision(engine)
    finally:
        engine.dispose()
    if before == after:  # the routine start of a service whose schema is current: nothing to tell
        log.debug("database schema up to date", extra={"revision": after or "base"})
    else:
        log.info("database migrated", extra={"from_revision": before or "base", "to_revision": after or "base"})
    return after


def database_is_migrated(database_url: str) -> bool:
    engine = create_sync_engine(database_url)
    try:
        return migrate.is_up_to_date(engine)
    finally:
        engine.dispose()


# --- signals ------------------------------------------------------------------------------------------------


@dataclass
class Shutdown:
    """A stop request shared by everything on the loop: signals set it, parts subscribe to it."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    signals_received: int = 0
    _callbacks: list[Callable[[bool], None]] = field(default_factory=list)

    def on_stop(self, callback: Callable[[bool], None]) -> None:
        """Call ``callback(forced)`` on each stop request (``forced`` from the second signal on)."""
        self._callbacks.append(callback)
        if self.event.is_set():
            callback(self.signals_received > 1)

    def request(self, *, forced: bool = False) -> None:
        self.event.set()
        for callback in list(self._callbacks):
            callback(forced)

    def handle_signal(self, signum: int) -> None:
        self.signals_received += 1
        forced = self.signals_received > 1
        log.info("stop requested", extra={"signal": signal.Signals(signum).name, "forced": forced})
        self.request(forced=forced)

    @contextlib.contextmanager
    def installed(self, signals: Iterable[signal.Signals] = HANDLED_SIGNALS) -> Generator[None, None, None]:
        """Route ``signals`` to this object for the duration, on the running loop."""
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        try:
            for signum in signals:
                loop.add_signal_handler(signum, self.handle_signal, int(signum))
                installed.append(signum)
            yield
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)


async def until_stopped(awaitable: Awaitable[Any], shutdown: Shutdown) -> bool:
    """Await ``awaitable`` unless a stop is requested first; return whether it completed."""
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(shutdown.event.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


# --- the HTTP server ----------------------------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling (remit's :class:`Shutdown` owns the signals, so one
    SIGTERM stops the server and the worker together, and the process exits 0 instead of re-raising it), with
    a hook once it listens, and an access log of its own (uvicorn's switch is the process's)."""

    def __init__(
        self, config: uvicorn.Config, on_started: Callable[[Endpoints], None] | None, *, access_log: bool = False
    ) -> None:
        super().__init__(config)
        self._on_started = on_started
        self._access_log = access_log
        self.endpoints: Endpoints | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        with server_access_log(self._access_log):
            await super().serve(sockets=sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if not self.started:
            return
        port = self.config.port
        for server in getattr(self, "servers", []):
            for sock in server.sockets or []:
                port = int(sock.getsockname()[1])
                break
        self.endpoints = Endpoints(f"http://{display_host(self.config.host)}:{port}")
        if self._on_started is not None:
            self._on_started(self.endpoints)


def build_server(
    runtime: Runtime,
    host: str,
    port: int,
    *,
    access_log: bool = False,
    on_started: Callable[[Endpoints], None] | None = None,
) -> _Server:
    config = uvicorn.Config(
        create_app(runtime),
        host=host,
        port=port,
        log_config=None,  # keep remit's structured, redacting logging
        # uvicorn's access_log=False switches the process's access logger off for every server in it, for good;
        # with True it leaves the logger alone, and _Server keeps or drops its own lines.
        access_log=True,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=max(1, int(runtime.settings.job_shutdown_grace)),
    )
    return _Server(config, on_started, access_log=access_log)


async def _serve(server: _Server, listener: socket.socket | None) -> int:
    """Run uvicorn (on ``listener`` when one was bound beforehand); map its start-up ``sys.exit`` (e.g. the
    port is taken) to an exit code."""
    try:
        await server.serve(sockets=[listener] if listener is not None else None)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else ExitCode.FAILED
    return ExitCode.OK if server.started else ExitCode.FAILED


# --- start-up -----------------------------------------------------------------------------------------------


async def prepare_database(runtime: Runtime, shutdown: Shutdown, *, run_migrations: bool) -> ExitCode | None:
    """Wait for the database (with backoff, one log line per try), then migrate; an exit code on failure."""
    timeout = runtime.settings.db_connect_timeout
    try:
        if not await until_stopped(runtime.db.wait_until_reachable(timeout), shutdown):
            return ExitCode.OK
    except DatabaseUnavailable as exc:
        log.error("database unreachable; giving up", extra={"reason": str(exc), "timeout_s": timeout})
        return ExitCode.DATABASE_UNAVAILABLE
    if run_migrations:
        await asyncio.to_thread(migrate_database, runtime.settings.database_url)
    elif not await asyncio.to_thread(database_is_migrated, runtime.settings.database_url):
        log.warning("database schema is not at the newest revision; run `remit migrate`")
    return None


async def run(
    settings: Settings,
    *,
    host: str,
    port: int,
    with_worker: bool,
    run_migrations: bool,
    access_log: bool = False,
    on_started: Callable[[Endpoints], None] | None = None,
    worker_factory: WorkerFactory = default_worker,
    runtime: Runtime | None = None,
    listener: socket.socket | None = None,
) -> int:
    """Serve the API (and, ``with_worker``, the job worker) until stopped; return the process exit code.
    ``listener`` is a socket :func:`bind_listener` bound for ``host``:``port``, to listen on instead.

    A host module named in ``REMIT_JOB_MODULES`` that cannot be imported stops start-up before anything
    listens (the runtime is composed first)."""
    runtime = runtime or service_runtime(settings, with_worker=with_worker)
    shutdown = Shutdown()
    try:
        with shutdown.installed():
            failed = await prepare_database(runtime, shutdown, run_migrations=run_migrations)
            if failed is not None or shutdown.event.is_set():
                return failed if failed is not None else ExitCode.OK
            return await _run_parts(
                runtime,
                shutdown,
                host=host,
                port=port,
                with_worker=with_worker,
                access_log=access_log,
                on_started=on_started,
                worker_factory=worker_factory,
                listener=listener,
            )
    finally:
        await runtime.close()


async def _run_parts(
    runtime: Runtime,
    shutdown: Shutdown,
    *,
    host: str,
    port: int,
    with_worker: bool,
    access_log: bool,
    on_started: Callable[[Endpoints], None] | None,
    worker_factory: WorkerFactory,
    listener: socket.socket | None = None,
) -> int:
    worker = worker_factory(runtime) if with_worker else None
    server = build_server(runtime, host, port, access_log=access_log, on_started=on_started)

    def stop_server(forced: bool) -> None:
        server.should_exit = True
        if forced:
            server.force_exit = True

    shutdown.on_stop(stop_server)
    tasks: dict[asyncio.Task[Any], str] = {asyncio.create_task(_serve(server, listener), name="remit-http"): "http"}
    if worker is not None:
        shutdown.on_stop(lambda _forced: worker.request_stop())
        tasks[asyncio.create_task(worker.run(), name="remit-worker")] = "worker"

    done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    stopped_on_request = shutdown.event.is_set()
    if not stopped_on_request:
        first = next(iter(done))
        log.error("a part of the service stopped on its own; stopping the rest", extra={"part": tasks[first]})
        shutdown.request()
    await asyncio.wait(tasks)

    code = ExitCode.OK if stopped_on_request else ExitCode.FAILED
    for task, part in tasks.items():
        if task.cancelled():
            code = ExitCode.FAILED
            continue
        exc = task.exception()
        if exc is not None:
            log.error("service part failed", extra={"part": part, "error_type": type(exc).__name__}, exc_info=exc)
            code = ExitCode.FAILED
        elif part == "http" and task.result() != ExitCode.OK:
            code = ExitCode.FAILED
    log.info("remit stopped", extra={"exit_code": int(code)})
    return int(code)


__all__ = [
    "BackgroundWorker",
    "Endpoints",
    "ExitCode",
    "Shutdown",
    "bind_listener",
    "build_server",
    "database_is_migrated",
    "default_worker",
    "free_port_near",
    "migrate_database",
    "port_in_use",
    "prepare_database",
    "run",
    "served_settings",
    "service_runtime",
]
