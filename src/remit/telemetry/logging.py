"""Structured logs with redaction: one JSON object per line (or a console format for people), on stderr.

remit's modules log through the standard library (``logging.getLogger("remit.jobs").info(..., extra={...})``)
so a host's own logging setup keeps working; :func:`configure_logging` routes those records, uvicorn's and
structlog's own through one structlog chain. The last step before rendering is :func:`redact`, which is the
guarantee behind "logs carry identifiers only": whatever a caller puts under a sensitive key (a secret, a
token, an email, a name, a raw body) is masked, and any string that looks like a Stripe key, a bearer token
or an email address is masked wherever it appears, including in messages and tracebacks. Callers should not
rely on it, but a slip in one call site must not leak a secret into a log pipeline.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from remit.config import Settings

REDACTED = "[redacted]"

#: Key parts that mark a value as sensitive wherever they appear in a key (``stripe_api_key``, ``raw_body``).
SENSITIVE_KEY_PARTS = frozenset(
    {
        "secret",
        "secrets",
        "token",
        "tokens",
        "password",
        "passwd",
        "authorization",
        "auth",
        "cookie",
        "email",
        "emails",
        "body",
        "payload",
        "signature",
        "address",
        "phone",
        "iban",
        "cvc",
    }
)
#: Whole keys that are sensitive though their parts are not (a person's name, not ``job_name``).
SENSITIVE_KEYS = frozenset(
    {
        "name",
        "api_key",
        "apikey",
        "first_name",
        "last_name",
        "full_name",
        "customer_name",
        "billing_name",
        "display_name",
        "holder_name",
        "cardholder_name",
        "card_number",
        "raw",
        "headers",
        "stripe_signature",
    }
)

_STRIPE_KEY = re.compile(r"\b(?:sk|rk|pk|whsec)_[A-Za-z0-9_]{4,}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+")
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@")

#: A last key part that makes the value a measure or a reference, not the thing itself (``body_bytes``).
NEUTRAL_LAST_PARTS = frozenset({"bytes", "size", "length", "len", "count", "id", "ids", "type", "sha256", "hash"})
#: Substrings of a key that name a credential though no single part does (``stripe_api_key``).
SENSITIVE_KEY_FRAGMENTS = ("api_key", "apikey", "private_key", "signing_key", "access_key", "client_key")

#: structlog's bookkeeping keys, which must pass through untouched.
_INTERNAL_KEYS = frozenset({"_record", "_from_structlog"})


def is_sensitive_key(key: str) -> bool:
    """Whether a value under ``key`` may hold a secret or personal data."""
    lowered = key.lower()
    if lowered in SENSITIVE_KEYS or any(fragment in lowered for fragment in SENSITIVE_KEY_FRAGMENTS):
        return True
    parts = re.split(r"[_\-.\s]+", lowered)
    if len(parts) > 1 and parts[-1] in NEUTRAL_LAST_PARTS:
        return False
    return any(part in SENSITIVE_KEY_PARTS for part in parts)


def mask_text(text: str) -> str:
    """Mask Stripe keys, webhook secrets, bearer tokens, URL passwords and email addresses inside ``text``."""
    text = _STRIPE_KEY.sub(lambda match: match.group(0).split("_", 1)[0] + "_" + REDACTED, text)
    text = _BEARER.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    text = _URL_PASSWORD.sub(lambda match: f"{match.group('scheme')}{match.group('user')}:{REDACTED}@", text)
    return _EMAIL.sub(REDACTED, text)


def redact_value(value: Any) -> Any:
    """Redact one value: mapping keys by name, strings by pattern, containers recursively."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {
            key: (REDACTED if isinstance(key, str) and is_sensitive_key(key) else redact_value(item))
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact_value(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return REDACTED  # raw bytes are bodies more often than not
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return mask_text(str(value))


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
    "stripe": logging.INFO,  # DEBUG: request form bodies and response bodies
}


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
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True

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
    "redact_mapping",
    "redact_value",
]
