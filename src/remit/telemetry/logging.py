"""Structured logs with redaction: one JSON object per line (or a console format for people), on stderr.

remit's modules log through the standard library (``logging.getLogger("remit.jobs").info(..., extra={...})``)
so a host's own logging setup keeps working; :func:`configure_logging` routes those records, uvicorn's and
structlog's own through one structlog chain. The last step before rendering is :func:`redact`, which applies
:mod:`remit.telemetry.redaction` — the same redaction the API and the CLI apply to stored error text — to the
whole event: whatever a caller puts under a sensitive key (a secret, a token, an email, a name, a raw body) is
masked, and any string that looks like a Stripe key, a bearer token or an email address is masked wherever it
appears, including in messages and tracebacks. uvicorn's access log (``--access-log``) keeps the path and the
query's parameter names, never their values. Callers should not rely on it, but a slip in one call site must
not leak a secret into a log pipeline.

uvicorn's loggers are the process's, and a host may have configured them its own way (or run uvicorn with its
own logging) before remit: :func:`configure_logging` takes them back wholly, levels included, so what reaches
the log does not depend on what ran earlier in the process. uvicorn's own access-log switch is process-wide
too; :func:`server_access_log` makes it each server's own.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from remit.config import Settings
from remit.telemetry.redaction import REDACTED, is_sensitive_key, mask_text, redact_value

#: What a query parameter's name looks like; anything else in its place is treated as a value.
_QUERY_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")

#: structlog's bookkeeping keys, which must pass through untouched.
_INTERNAL_KEYS = frozenset({"_record", "_from_structlog"})


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask sensitive keys and secret-looking strings in the whole event."""
    for key in list(event_dict):
        if key in _INTERNAL_KEYS:
            continue
        if key != "event" and is_sensitive_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = redact_value(event_dict[key])
    return event_dict


def without_query_values(target: str) -> str:
    """A request target with every query value masked: ``/a?access_token=x&limit=5`` → ``/a?access_token=
    [redacted]&limit=[redacted]`` (pure). A parameter name that does not look like one — a bare token, say —
    is masked too."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    kept = []
    for part in query.split("&"):
        name, has_value, _ = part.partition("=")
        if not part:
            continue
        if not (has_value and _QUERY_NAME.fullmatch(name)):
            kept.append(REDACTED)
        else:
            kept.append(f"{name}={REDACTED}")
    return f"{path}?{'&'.join(kept)}"


class QueryValueRedactor(logging.Filter):
    """On uvicorn's access logger: the logged request target keeps its path and parameter names, never their
    values — ``?access_token=…`` is how some clients authenticate, and a filter value may be an email."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 2 and isinstance(args[2], str):
            record.args = (*args[:2], without_query_values(args[2]), *args[3:])
        return True


def redact_access_log() -> None:
    """Install :class:`QueryValueRedactor` on uvicorn's access logger (once; called again, it does nothing)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, QueryValueRedactor) for existing in access.filters):
        access.addFilter(QueryValueRedactor())


#: Whether the server whose context a record is logged in wants its access log (None: not a remit-run server).
_SERVER_ACCESS_LOG: ContextVar[bool | None] = ContextVar("remit_server_access_log", default=None)


class ServerAccessLogSwitch(logging.Filter):
    """On uvicorn's access logger: drops the access lines of a server run under ``server_access_log(False)``.

    uvicorn decides whether to write access lines from the ``uvicorn.access`` logger alone (its
    ``access_log=False`` turns that logger's propagation off, for the whole process, and ``True`` never turns
    it back on), so two servers in one process — or one after the other, as a host's tests run them — cannot
    differ. A server's connections are handled in the context its listening socket was opened in, so a
    context variable set around ``serve()`` tells whose line a record is.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return _SERVER_ACCESS_LOG.get() is not False


@contextmanager
def server_access_log(enabled: bool) -> Iterator[None]:
    """Serve a uvicorn server inside this (around ``serve()``, so its connections inherit the setting): its
    requests get access lines only if ``enabled``. Build the server with uvicorn's ``access_log=True``, so
    uvicorn leaves the process's ``uvicorn.access`` logger alone. The query values are masked here too, not only
    by :func:`configure_logging`: a host that serves remit under its own logging never calls that."""
    redact_access_log()
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, ServerAccessLogSwitch) for existing in access.filters):
        access.addFilter(ServerAccessLogSwitch())
    token = _SERVER_ACCESS_LOG.set(enabled)
    try:
        yield
    finally:
        _SERVER_ACCESS_LOG.reset(token)


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _drop_color_message(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """uvicorn duplicates its message with ANSI colours under ``color_message``; keep one."""
    event_dict.pop("color_message", None)
    return event_dict


class _RemitHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`configure_logging` installs (marked, so calling it again replaces, not stacks).

    Without an explicit stream it writes to whatever ``sys.stderr`` is at the time of each record, so a
    test runner or a CLI harness that swaps stderr never leaves it writing to a closed file.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr
        super().emit(record)


#: Libraries whose chattier lines quote what passes through them — SQL parameters (a webhook's raw body, customer
#: fields), HTTP form and response bodies — as one preformatted string remit's redaction cannot reliably mask;
#: each is held at the level given, whatever ``REMIT_LOG_LEVEL`` says. ``stripe`` at INFO keeps its
#: method-and-URL lines; SQLAlchemy at WARNING still reports pool and connection trouble.
PAYLOAD_LOGGERS: dict[str, int] = {
    "sqlalchemy": logging.WARNING,  # engine echo at INFO: every statement with its parameters
    "aiosqlite": logging.INFO,  # DEBUG: every operation with its arguments
    "psycopg": logging.INFO,  # DEBUG: queries and notices
    "httpcore": logging.INFO,  # DEBUG: request and response traces
    "httpx": logging.WARNING,  # INFO: every request's full URL (an ops webhook's URL carries its own token)
    "stripe": logging.INFO,  # DEBUG: request form bodies and response bodies
}


#: The loggers uvicorn configures for itself (``uvicorn.asgi`` traces ASGI messages).
UVICORN_LOGGERS: tuple[str, ...] = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


#: Libraries that log routine progress at INFO; held at WARNING unless ``REMIT_LOG_LEVEL=DEBUG``.
CHATTY_LOGGERS: tuple[str, ...] = ("weasyprint", "fontTools")


def quiet_payload_loggers() -> None:
    """Hold each of :data:`PAYLOAD_LOGGERS` at its floor (raise a lower level; never lower a higher one).

    Called by :func:`configure_logging` and by the Stripe adapter, so a host that configures logging its own
    way is covered too. A test that wants SQLAlchemy's statement log sets that logger's level explicitly.
    """
    for name, floor in PAYLOAD_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < floor:
            logger.setLevel(floor)


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> None:
    """Route stdlib and structlog logging through one redacting structlog chain on ``stream`` (stderr).

    ``REMIT_LOG_FORMAT=console`` renders for a terminal; the default is one JSON object per line.
    Safe to call more than once (tests do): the previous remit handler is replaced.
    """
    shared = _shared_processors()
    renderer: Processor
    if settings.log_format == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.JSONRenderer(default=str)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _drop_color_message,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    )
    handler = _RemitHandler(stream)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing, _RemitHandler):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    quiet_payload_loggers()
    # Alembic narrates every connection it configures at INFO; remit logs one "database migrated" line instead.
    logging.getLogger("alembic").setLevel("DEBUG" if settings.log_level == "DEBUG" else "WARNING")
    # WeasyPrint narrates each of its seven rendering steps at INFO (``weasyprint.progress``), and fontTools its
    # font subsetting: dozens of lines per invoice PDF that drown remit's own lines; their warnings still show.
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel("DEBUG" if settings.log_level == "DEBUG" else "WARNING")
    # uvicorn's loggers as a fresh process has them, whoever configured them before (a host's uvicorn.run with
    # its own log_level, uvicorn's dictConfig): routed to the handler above, at REMIT_LOG_LEVEL.
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
        uvicorn_logger.disabled = False
    redact_access_log()

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def redact_mapping(data: MutableMapping[str, Any]) -> dict[str, Any]:
    """Redact a plain mapping the way log events are redacted (for error payloads and audit trails)."""
    return dict(redact_value(dict(data)))


__all__ = [
    "REDACTED",
    "configure_logging",
    "is_sensitive_key",
    "mask_text",
    "redact",
    "redact_access_log",
    "redact_mapping",
    "redact_value",
    "server_access_log",
    "without_query_values",
]
