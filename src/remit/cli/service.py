"""Service commands: ``migrate``, ``serve`` (API only), ``up`` (API, worker and scheduler) and ``doctor``.

:mod:`remit.service` (uvicorn, the FastAPI app, Alembic) is imported inside the commands that use it, never at
the top: every ``remit`` command imports this module, and only these four need it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from remit.cli.hints import command
from remit.cli.output import CONFIG_EXIT_CODE, configuration_message, fail, load_settings_or_exit, print_list, run_async
from remit.config import Settings, load_settings
from remit.db.engine import is_unavailable_error
from remit.db.location import describe
from remit.errors import ConfigurationError
from remit.telemetry.logging import configure_logging

if TYPE_CHECKING:
    from remit import service

HOST_OPTION = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0 for every one).")
PORT_OPTION = typer.Option(8000, "--port", min=0, max=65535, help="TCP port to listen on (0: any free one).")
ACCESS_LOG_OPTION = typer.Option(False, "--access-log", help="Log one line per HTTP request.")


def admin_hint(settings: Settings, admin_url: str) -> str:
    """Where the admin page is, and how to get in (or how to turn it on)."""
    if settings.admin_password_hash:
        return f"{admin_url} (log in as {settings.admin_user})"
    if settings.admin_proxy_user_header:
        return f"{admin_url} (through your proxy, which names the user in {settings.admin_proxy_user_header})"
    return f"{admin_url} (off until REMIT_ADMIN_PASSWORD_HASH is set: {command('admin hash-password')}; docs/admin.md)"


def api_docs_hint(settings: Settings, endpoints: service.Endpoints) -> str:
    """What the banner says of the API docs: only the pages this configuration serves."""
    if settings.serves_interactive_docs:
        return f"{endpoints.docs} (the document: {endpoints.openapi})"
    if settings.serves_api_docs:
        return f"{endpoints.openapi} (the document only: no interactive page here)"
    return "off (REMIT_API_DOCS=on serves the document at /openapi.json)"


def _print_where_to_look(
    endpoints: service.Endpoints,
    settings: Settings,
    *,
    with_worker: bool,
    sandbox: bool = False,
    default_url: bool = True,
) -> None:
    console = Console(soft_wrap=True)  # a hint wrapped onto two lines would not run when copied
    what = "API, worker and scheduler" if with_worker else "API"
    console.print(f"[bold green]remit is up[/bold green] ({what}) on {endpoints.base_url}", highlight=False)
    console.print(f"  database {describe(settings.database_url)}", highlight=False, markup=False)
    console.print(f"  health   {endpoints.health}", highlight=False)
    console.print(f"  metrics  {endpoints.metrics}", highlight=False)
    console.print(f"  API docs {api_docs_hint(settings, endpoints)}", highlight=False)
    if sandbox:
        demo = command("demo") if default_url else command("demo --url", endpoints.base_url)
        console.print(f"  sandbox  fake processor + the sandbox host app's handlers · try {demo}", highlight=False)
    console.print(f"  admin    {admin_hint(settings, endpoints.base_url + '/admin')}", highlight=False, markup=False)
    money = " · ".join(command(group, "list") for group in ("dunning", "provisioning", "usage"))
    console.print(f"  billing  {money}", highlight=False)
    console.print(
        f"  next     {command('doctor')} · {command('queues')} · {command('jobs list')} · Ctrl+C to stop",
        highlight=False,
    )


def migrate_command(
    revision: str = typer.Option("head", "--revision", help="Target revision (default: the newest)."),
) -> None:
    """Bring the database schema up to date (remit up does this too)."""
    from remit import service

    settings = load_settings_or_exit()
    try:
        reached = service.migrate_database(settings.database_url, revision)
    except Exception as exc:
        if is_unavailable_error(exc):
            fail(
                f"database unreachable ({type(exc).__name__}); check DATABASE_URL and that the server runs",
                code=service.ExitCode.DATABASE_UNAVAILABLE,
            )
        raise
    Console().print(f"database at revision {reached or 'base'}", highlight=False)


def refuse_a_busy_port(host: str, port: int) -> None:
    """Exit 2 before migrating or serving when ``host``:``port`` is taken (another ``remit up``, say)."""
    from remit import service

    if service.port_in_use(host, port):
        free = service.free_port_near(host, port)
        fail(f"port {port} in use on {service.display_host(host)}; pass --port {free or 'PORT'}", code=2)


def listen_on(host: str, port: int) -> tuple[socket.socket | None, int]:
    """For ``--port 0``, a socket bound to a free port now and that port (so REMIT_URL can follow it, see
    :func:`remit.service.bind_listener`); any other port is bound by the server itself, as before."""
    from remit import service

    if port != 0:
        return None, port
    try:
        listener = service.bind_listener(host, 0)
    except OSError as exc:
        fail(f"cannot listen on {service.display_host(host)} ({exc.strerror or type(exc).__name__})", code=2)
    return listener, int(listener.getsockname()[1])


def serve_command(host: str = HOST_OPTION, port: int = PORT_OPTION, access_log: bool = ACCESS_LOG_OPTION) -> None:
    """Serve the HTTP API only; run workers with remit worker (scale each on its own)."""
    from remit import service

    loaded = load_settings_or_exit()
    refuse_a_busy_port(host, port)
    listener, port = listen_on(host, port)
    settings = service.served_settings(loaded, host, port)
    code = run_async(
        service.run(
            settings,
            host=host,
            port=port,
            listener=listener,
            with_worker=False,
            run_migrations=False,
            access_log=access_log,
            on_started=lambda endpoints: _print_where_to_look(endpoints, settings, with_worker=False),
        )
    )
    raise typer.Exit(code)


def _or_configuration_exit(run: Callable[[], int]) -> int:
    """``run()``, or exit 2 with the configuration message when composing its runtime found a problem the
    settings alone could not show (a REMIT_SCHEDULES entry naming no periodic task)."""
    try:
        return run()
    except ConfigurationError as exc:
        fail(configuration_message(exc), code=CONFIG_EXIT_CODE)


def up_command(host: str = HOST_OPTION, port: int = PORT_OPTION, access_log: bool = ACCESS_LOG_OPTION) -> None:
    """Run everything in one process: wait for the database, migrate, then serve the API and run the worker.

    On the fake processor with no host modules (REMIT_JOB_MODULES), the worker also runs the sandbox host
    app's webhook handlers (remit.sandbox), so remit demo has host handlers and a dead letter to show."""
    from remit import sandbox, service

    loaded = load_settings_or_exit()
    refuse_a_busy_port(host, port)
    listener, port = listen_on(host, port)
    settings = service.served_settings(loaded, host, port)
    with_sandbox = sandbox.applies(settings)
    code = _or_configuration_exit(
        lambda: run_async(
            service.run(
                settings,
                host=host,
                port=port,
                listener=listener,
                with_worker=True,
                run_migrations=True,
                access_log=access_log,
                on_started=lambda endpoints: _print_where_to_look(
                    endpoints,
                    settings,
                    with_worker=True,
                    sandbox=with_sandbox,
                    default_url=endpoints.base_url == Settings.model_fields["url"].default,
                ),
            )
        )
    )
    raise typer.Exit(code)


def doctor_command(
    as_json: bool = typer.Option(False, "--json", help="Print the checks as one JSON array."),
) -> None:
    """Diagnose in runbook order: configuration, database, migrations, queues, workers, processor, processor
    credentials."""
    from remit import doctor

    try:
        configure_logging(load_settings())
    except ConfigurationError:
        configure_logging(Settings.model_validate({}))  # the configuration step reports the problems
    checks = run_async(doctor.diagnose())
    rows = [check.as_row() for check in checks]
    print_list(rows, as_json=as_json, columns=["check", "status", "detail"], title="remit doctor")
    raise typer.Exit(0 if doctor.is_healthy(checks) else 1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root ``app``."""
    app.command("migrate")(migrate_command)
    app.command("serve")(serve_command)
    app.command("up")(up_command)
    app.command("doctor")(doctor_command)
