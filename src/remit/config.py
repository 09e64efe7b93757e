"""Settings from the environment, validated all at once at start-up.

Every variable remit reads is a field here, with its environment name as the alias; ``docs/configuration.md``
is the one list for operators, and a test fails when the two disagree. :func:`load_settings` gathers every
problem before it raises, so an operator fixes a broken deploy in one round, and no message ever carries a
value (a secret could be among them).
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from remit.errors import ConfigurationError
from remit.periodic import Schedule, parse_schedules

DEFAULT_DATABASE_URL = "sqlite:///./remit.db"
FAKE_WEBHOOK_SECRET = "whsec_remit_fake_development_secret"  # noqa: S105 - public, for the fake processor only
#: The sender of outbox mail when ``REMIT_MAIL_FROM`` is unset (``.invalid`` never resolves: nothing leaves).
DEVELOPMENT_MAIL_FROM = "remit <billing@remit.invalid>"

#: In production a service token must be at least this long and hold at least this many distinct characters
#: (``secrets.token_urlsafe(32)`` gives 43 characters; a 32-character hex token has about 14 distinct ones).
MIN_SERVICE_TOKEN_LENGTH = 32
MIN_SERVICE_TOKEN_DISTINCT = 10

#: How an admin password hash must begin: argon2 (argon2-cffi) or bcrypt.
ADMIN_HASH_PREFIXES = ("$argon2id$", "$argon2i$", "$argon2d$", "$2a$", "$2b$", "$2y$")

#: The queues remit's own jobs use, by their default (renameable) names.
DEFAULT_QUEUES: dict[str, int] = {
    "remit_webhooks": 10,
    "remit_mailers": 5,
    "remit_meters": 5,
    "remit_usage": 5,
    "remit_invoices": 5,
    "remit_payment_sync": 2,
    "remit_dunning": 2,
    "remit_reconcilers": 2,
    "remit_scheduled": 2,
    "remit_provisioning": 5,
    "remit_maintenance": 1,
    "remit_ops": 2,
}

#: The queues whose jobs call the payment processor: expired credentials pause them all (docs/jobs.md,
#: "Processor faults"), beside the queue of the job that met the expiry.
DEFAULT_PROCESSOR_QUEUES = "remit_meters,remit_invoices,remit_payment_sync,remit_dunning,remit_reconcilers"


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """One queue as the host configured it: the name remit's code uses, the name in the database, and how
    many of its jobs one worker process runs at once."""

    key: str
    name: str
    concurrency: int


def parse_queues(spec: str, defaults: Mapping[str, int] = DEFAULT_QUEUES) -> dict[str, QueueSpec]:
    """Parse ``REMIT_QUEUES``: comma-separated ``key[=name][:concurrency]`` items.

    The defaults are always present; an item overrides a default's name or concurrency, or adds a host queue.
    ``remit_webhooks=billing_hooks:20`` renames remit's webhook queue to ``billing_hooks``, 20 at once.
    """
    queues = {key: QueueSpec(key, key, conc) for key, conc in defaults.items()}
    # Messages name an item by its position, never by its text: configuration errors never echo values.
    for position, raw in enumerate(spec.split(","), start=1):
        item = raw.strip()
        if not item:
            continue
        head, _, conc_text = item.partition(":")
        key, _, name = head.partition("=")
        key, name = key.strip(), (name.strip() or key.strip())
        if not key or not _is_identifier(key) or not _is_identifier(name):
            raise ValueError(f"item {position} is not key[=name][:concurrency] with names of [A-Za-z0-9_.-]")
        try:
            default = queues.get(key, QueueSpec(key, name, 10)).concurrency
            concurrency = int(conc_text) if conc_text else default
        except ValueError:
            raise ValueError(f"item {position} has a concurrency that is not a whole number") from None
        if concurrency < 1:
            raise ValueError(f"item {position} needs a concurrency of at least 1")
        queues[key] = QueueSpec(key, name, concurrency)
    names = [q.name for q in queues.values()]
    if len(names) != len(set(names)):
        raise ValueError("two queues share one name")
    return queues


@dataclass(frozen=True, slots=True)
class WebhookEndpointSpec:
    """One extra webhook endpoint (e.g. for Connect events): its name (stored on each event it receives), its
    path, and the variable that holds its signing secrets (comma-separated, for rotation)."""

    name: str
    path: str
    secret_variable: str


def parse_webhook_endpoints(spec: str) -> list[WebhookEndpointSpec]:
    """Parse ``REMIT_WEBHOOK_ENDPOINTS``: comma-separated ``name=/path:SECRET_VARIABLE`` items, e.g.
    ``connect=/webhooks/stripe-connect:STRIPE_CONNECT_WEBHOOK_SECRET``. The name ``default`` is the main
    endpoint (``REMIT_WEBHOOK_PATH`` with ``STRIPE_WEBHOOK_SECRET``) and cannot be redefined here."""
    endpoints: list[WebhookEndpointSpec] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        name, _, rest = item.partition("=")
        path, _, variable = rest.rpartition(":")
        name, path, variable = name.strip(), path.strip(), variable.strip()
        if not _is_identifier(name) or not path.startswith("/") or not variable.replace("_", "").isalnum():
            raise ValueError(f"webhook endpoint item {item!r} is not name=/path:SECRET_VARIABLE")
        if name == "default":
            raise ValueError("the webhook endpoint name 'default' is reserved for REMIT_WEBHOOK_PATH")
        endpoints.append(WebhookEndpointSpec(name, path, variable))
    names, paths = {e.name for e in endpoints}, {e.path for e in endpoints}
    if len(names) != len(endpoints) or len(paths) != len(endpoints):
        raise ValueError("two webhook endpoints share a name or a path")
    return endpoints


#: The meters declared when ``REMIT_METERS`` is unset: ``api_requests``, summed, whole numbers.
DEFAULT_METERS = "api_requests:sum"
METER_AGGREGATIONS = ("sum", "count")
#: The most decimal places a meter may declare (values are stored as whole numbers of 10^-decimals).
MAX_METER_DECIMALS = 9


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """One usage meter: remit's name for it, the processor's meter event name, how the processor aggregates
    it (``sum`` or ``count``) and how many decimal places its values may have (0: whole numbers)."""

    name: str
    event_name: str
    aggregation: str
    decimals: int


def parse_meters(spec: str) -> dict[str, MeterSpec]:
    """Parse ``REMIT_METERS``: comma-separated ``name[=event_name][:sum|count][:decimals]`` items, e.g.
    ``api_requests:sum,storage_gb=stripe_storage:sum:3``; the event name defaults to the meter's name.
    Messages name an item by its position, never its text."""
    meters: dict[str, MeterSpec] = {}
    for position, raw in enumerate(spec.split(","), start=1):
        item = raw.strip()
        if not item:
            continue
        head, *options = item.split(":")
        name, _, event_name = head.partition("=")
        name, event_name = name.strip(), (event_name.strip() or name.strip())
        aggregation = options[0].strip() if options else "sum"
        decimals_text = options[1].strip() if len(options) > 1 else "0"
        if not _is_identifier(name) or not _is_identifier(event_name) or len(name) > 64 or len(options) > 2:
            raise ValueError(f"meter item {position} is not name[=event_name][:sum|count][:decimals]")
        if aggregation not in METER_AGGREGATIONS:
            raise ValueError(f"meter item {position}: the aggregation must be sum or count")
        if not decimals_text.isdigit() or int(decimals_text) > MAX_METER_DECIMALS:
            raise ValueError(f"meter item {position}: decimals must be 0 to {MAX_METER_DECIMALS}")
        if name in meters:
            raise ValueError(f"meter item {position} declares a meter already declared")
        meters[name] = MeterSpec(name, event_name, aggregation, int(decimals_text))
    return meters


#: The key of the packages document (``REMIT_PACKAGES``) that declares meters instead of a package.
PACKAGES_METERS_KEY = "meters"


def read_packages_document(spec: str) -> Mapping[str, object]:
    """The document ``REMIT_PACKAGES`` holds: inline JSON, or a ``.json``/``.toml`` file. Raises
    :class:`ValueError` (or :class:`OSError`) without quoting the document."""
    text = spec.strip()
    if text.startswith("{"):
        document: object = json.loads(text)
    else:
        path = Path(text)
        raw = path.read_text(encoding="utf-8")
        document = tomllib.loads(raw) if path.suffix == ".toml" else json.loads(raw)
    if not isinstance(document, Mapping):
        raise ValueError("must hold an object of packages")
    return document


def meters_from_table(table: object) -> dict[str, MeterSpec]:
    """Meters from the packages document's ``meters`` table: name → ``{"event_name", "aggregation",
    "decimals"}`` (each optional), checked by the same rules as ``REMIT_METERS``."""
    if not isinstance(table, Mapping):
        raise ValueError("meters must be an object of meter name to {event_name, aggregation, decimals}")
    items = []
    for position, (name, spec) in enumerate(table.items(), start=1):
        spec = {} if spec is None else spec
        if (
            not isinstance(name, str)
            or not isinstance(spec, Mapping)
            or set(spec)
            - {
                "event_name",
                "aggregation",
                "decimals",
            }
        ):
            raise ValueError(f"meter {position} must be an object with event_name, aggregation, decimals")
        event_name, aggregation, decimals = (
            spec.get("event_name", name),
            spec.get("aggregation", "sum"),
            spec.get("decimals", 0),
        )
        if (
            not all(isinstance(v, str) for v in (event_name, aggregation))
            or not isinstance(decimals, int)
            or isinstance(decimals, bool)
            or any(c in f"{name}{event_name}{aggregation}" for c in ",:=")
        ):
            raise ValueError(f"meter {position} has a field of the wrong type")
        items.append(f"{name}={event_name}:{aggregation}:{decimals}")
    return parse_meters(",".join(items))


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """Where and how to hand mail to an SMTP server, from ``REMIT_SMTP_URL``.

    ``tls`` is ``implicit`` (``smtps://``, TLS from the first byte, port 465), ``starttls`` (``smtp+starttls://``,
    STARTTLS required, port 587) or ``opportunistic`` (``smtp://``, port 25: STARTTLS when the server offers
    it, plain otherwise — a loopback relay or a test server)."""

    host: str
    port: int
    tls: Literal["implicit", "starttls", "opportunistic"]
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:  # never show the password, not even in a debugger or a traceback
        return f"SmtpTarget(host={self.host!r}, port={self.port}, tls={self.tls!r}, auth={self.username is not None})"


_SMTP_SCHEMES: dict[str, tuple[Literal["implicit", "starttls", "opportunistic"], int]] = {
    "smtp": ("opportunistic", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("implicit", 465),
}


def parse_smtp_url(url: str) -> SmtpTarget:
    """Parse ``REMIT_SMTP_URL`` (pure): ``smtp://``, ``smtp+starttls://`` or ``smtps://``, optional
    ``user:password@`` (percent-encoded) for AUTH, optional ``?timeout=SECONDS``. Messages never quote it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in _SMTP_SCHEMES:
        raise ValueError("must start with smtp://, smtp+starttls:// or smtps://")
    tls, default_port = _SMTP_SCHEMES[parts.scheme]
    if not parts.hostname:
        raise ValueError("names no host")
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    if parts.path not in ("", "/"):
        raise ValueError("must not have a path")
    timeout = 30.0
    for name, values in parse_qs(parts.query, keep_blank_values=True).items():
        if name != "timeout":
            raise ValueError("takes only the query parameter timeout")
        try:
            timeout = float(values[-1])
        except ValueError:
            raise ValueError("has a timeout that is not a number of seconds") from None
        if not 0 < timeout <= 600:
            raise ValueError("needs a timeout from 0 to 600 seconds")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and username is None:
        raise ValueError("has a password without a user name")
    return SmtpTarget(parts.hostname, port, tls, username, password, timeout)


def parse_days(value: str) -> tuple[int, ...]:
    """``"30,7,1"`` → ``(30, 7, 1)``: distinct whole days from 1 to 365, largest first; at least one."""
    days: set[int] = set()
    for position, item in enumerate(value.split(","), start=1):
        item = item.strip()
        if not item.isdigit() or not 1 <= int(item) <= 365:
            raise ValueError(f"item {position} is not a whole number of days from 1 to 365")
        days.add(int(item))
    if not days:
        raise ValueError("name at least one number of days")
    return tuple(sorted(days, reverse=True))


def mail_address_problem(value: str) -> str | None:
    """Why ``value`` is not one mail address (``billing@example.com`` or ``Acme Billing <billing@…>``), or
    None (pure). The answer never quotes the value: an address is personal data."""
    if any(c in value for c in "\r\n"):
        return "must be on one line"
    _name, address = parseaddr(value)
    local, _, domain = address.rpartition("@")
    if not local or not domain or any(c.isspace() for c in address) or "," in value:
        return "is not one mail address (billing@example.com or Name <billing@example.com>)"
    return None


def _is_identifier(name: str) -> bool:
    return bool(name) and len(name) <= 64 and all(c.isalnum() or c in "_-." for c in name)


def service_token_problem(token: str) -> str | None:
    """Why ``token`` is too weak to guard the internal API in production, or None (pure).

    The answer never quotes the token. Short tokens are refused, and so are obviously low-entropy ones of the
    required length: few distinct characters (``aaaa…``, ``changeme-changeme…``) or a run of consecutive
    characters (``abcdef…``, ``0123…``), which a guesser tries first."""
    if len(token) < MIN_SERVICE_TOKEN_LENGTH:
        return f"is shorter than {MIN_SERVICE_TOKEN_LENGTH} characters"
    if len(set(token)) < MIN_SERVICE_TOKEN_DISTINCT:
        return f"has fewer than {MIN_SERVICE_TOKEN_DISTINCT} distinct characters"
    steps = {ord(b) - ord(a) for a, b in pairwise(token)}
    if steps <= {1} or steps <= {-1}:
        return "is a run of consecutive characters"
    return None


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Everything remit reads from the environment. Field aliases are the variable names."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what is passed in: :func:`load_settings` is the one reader of the environment.

        So ``load_settings(environ)`` sees exactly ``environ``, a test's ``Settings.model_validate({...})``
        is not changed by the developer's shell, and list variables are split on commas by their validators
        instead of being parsed as JSON by pydantic-settings' environment source.
        """
        return (init_settings,)

    database_url: str = Field(DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    processor: Literal["fake", "stripe"] = Field("fake", alias="REMIT_PROCESSOR")
    stripe_api_key: str | None = Field(None, alias="STRIPE_API_KEY")
    stripe_webhook_secret: list[str] = Field(default_factory=list, alias="STRIPE_WEBHOOK_SECRET")
    stripe_api_base: str | None = Field(None, alias="STRIPE_API_BASE")
    service_tokens: list[str] = Field(default_factory=list, alias="REMIT_SERVICE_TOKENS")
    cron_secrets: list[str] = Field(default_factory=list, alias="CRON_SECRET")
    api_rate_limit: int = Field(600, ge=0, alias="REMIT_API_RATE_LIMIT")
    api_rate_window_seconds: float = Field(60.0, gt=0, le=86400, alias="REMIT_API_RATE_WINDOW_SECONDS")
    origin_header: str = Field("CF-Connecting-IP", min_length=1, alias="REMIT_ORIGIN_HEADER")
    origin_allow: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"], alias="REMIT_ORIGIN_ALLOW")
    origin_exempt: list[str] = Field(default_factory=lambda: ["/health"], alias="REMIT_ORIGIN_EXEMPT")
    queues_spec: str = Field("", alias="REMIT_QUEUES")
    processor_queues_spec: str = Field(DEFAULT_PROCESSOR_QUEUES, alias="REMIT_PROCESSOR_QUEUES")
    url: str = Field("http://127.0.0.1:8000", alias="REMIT_URL")
    environment: Literal["development", "test", "production"] = Field("development", alias="REMIT_ENV")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="REMIT_LOG_LEVEL")
    log_format: Literal["json", "console"] = Field("json", alias="REMIT_LOG_FORMAT")

    db_connect_timeout: float = Field(30.0, ge=0, alias="REMIT_DB_CONNECT_TIMEOUT")
    db_pool_size: int = Field(10, ge=1, alias="REMIT_DB_POOL_SIZE")

    job_poll_interval: float = Field(1.0, gt=0, alias="REMIT_JOB_POLL_INTERVAL")
    job_heartbeat_interval: float = Field(5.0, gt=0, alias="REMIT_JOB_HEARTBEAT_INTERVAL")
    job_lease_seconds: float = Field(60.0, gt=0, alias="REMIT_JOB_LEASE_SECONDS")
    job_shutdown_grace: float = Field(25.0, ge=0, alias="REMIT_JOB_SHUTDOWN_GRACE")
    job_batch_size: int = Field(100, ge=1, le=1000, alias="REMIT_JOB_BATCH_SIZE")
    job_modules: list[str] = Field(default_factory=list, alias="REMIT_JOB_MODULES")
    jobs_completed_retention_hours: float = Field(24.0, gt=0, alias="REMIT_JOBS_COMPLETED_RETENTION_HOURS")
    jobs_discarded_retention_days: float = Field(30.0, gt=0, alias="REMIT_JOBS_DISCARDED_RETENTION_DAYS")
    worker_metrics_port: int | None = Field(None, ge=0, le=65535, alias="REMIT_WORKER_METRICS_PORT")
    worker_metrics_host: str = Field("127.0.0.1", min_length=1, alias="REMIT_WORKER_METRICS_HOST")

    webhook_path: str = Field("/webhooks/stripe", alias="REMIT_WEBHOOK_PATH")
    webhook_tolerance: int = Field(300, ge=1, alias="REMIT_WEBHOOK_TOLERANCE")
    webhook_max_body_bytes: int = Field(1_048_576, ge=1024, alias="REMIT_WEBHOOK_MAX_BODY_BYTES")
    webhook_max_attempts: int = Field(25, ge=1, alias="REMIT_WEBHOOK_MAX_ATTEMPTS")
    webhook_processed_retention_days: float = Field(14.0, gt=0, alias="REMIT_WEBHOOK_PROCESSED_RETENTION_DAYS")
    webhook_dead_retention_days: float = Field(90.0, gt=0, alias="REMIT_WEBHOOK_DEAD_RETENTION_DAYS")
    #: At least a day: a key is kept at least as long as Stripe keeps it (24 h).
    billing_action_retention_days: float = Field(7.0, ge=1.0, alias="REMIT_BILLING_ACTION_RETENTION_DAYS")
    flag_billing: bool = Field(True, alias="REMIT_FLAG_BILLING")
    flag_origin_guard: bool = Field(False, alias="REMIT_FLAG_ORIGIN_GUARD")
    flags_refresh_seconds: float = Field(2.0, ge=0, alias="REMIT_FLAGS_REFRESH_SECONDS")
    health_cache_seconds: float = Field(2.0, ge=0, alias="REMIT_HEALTH_CACHE_SECONDS")
    metrics_refresh_seconds: float = Field(10.0, ge=0, alias="REMIT_METRICS_REFRESH_SECONDS")
    admin_refresh_seconds: float = Field(2.0, ge=0, alias="REMIT_ADMIN_REFRESH_SECONDS")
    ops_webhook_url: str | None = Field(None, alias="REMIT_OPS_WEBHOOK_URL")
    ops_webhook_secret: str | None = Field(None, alias="REMIT_OPS_WEBHOOK_SECRET")
    webhook_endpoints_spec: str = Field("", alias="REMIT_WEBHOOK_ENDPOINTS")
    meters_spec: str = Field(DEFAULT_METERS, alias="REMIT_METERS")
    api_docs: bool | None = Field(None, alias="REMIT_API_DOCS")

    smtp_url: str | None = Field(None, alias="REMIT_SMTP_URL")
    mail_from: str | None = Field(None, alias="REMIT_MAIL_FROM")
    mail_reply_to: str | None = Field(None, alias="REMIT_MAIL_REPLY_TO")
    mail_operator: str | None = Field(None, alias="REMIT_MAIL_OPERATOR")
    template_dir: str | None = Field(None, alias="REMIT_TEMPLATE_DIR")

    packages_spec: str | None = Field(None, alias="REMIT_PACKAGES")
    provisioning_trigger_url: str | None = Field(None, alias="PROVISIONING_TRIGGER_URL")
    provisioning_trigger_secret: str | None = Field(None, alias="PROVISIONING_TRIGGER_SECRET")
    provisioning_callback_secret: str | None = Field(None, alias="PROVISIONING_CALLBACK_SECRET")
    provisioning_trigger_timeout: float = Field(10.0, gt=0, le=120, alias="REMIT_PROVISIONING_TRIGGER_TIMEOUT")
    provisioning_stale_seconds: float = Field(300.0, ge=0, alias="REMIT_PROVISIONING_STALE_SECONDS")
    provisioning_batch: int = Field(25, ge=1, le=1000, alias="REMIT_PROVISIONING_BATCH")
    provisioning_trigger_concurrency: int = Field(5, ge=1, le=100, alias="REMIT_PROVISIONING_TRIGGER_CONCURRENCY")
    provisioning_max_attempts: int = Field(8, ge=1, le=1000, alias="REMIT_PROVISIONING_MAX_ATTEMPTS")
    provisioning_stuck_seconds: float = Field(900.0, gt=0, alias="REMIT_PROVISIONING_STUCK_SECONDS")

    # The admin page (docs/admin.md): a password login, or SSO left to a proxy that names the user in a header.
    admin_password_hash: str | None = Field(None, alias="REMIT_ADMIN_PASSWORD_HASH")
    admin_user: str = Field("admin", min_length=1, max_length=64, alias="REMIT_ADMIN_USER")
    admin_session_secret: str | None = Field(None, alias="REMIT_ADMIN_SESSION_SECRET")
    admin_session_hours: float = Field(8.0, gt=0, le=24 * 30, alias="REMIT_ADMIN_SESSION_HOURS")
    admin_cookie_secure: bool = Field(True, alias="REMIT_ADMIN_COOKIE_SECURE")
    admin_login_attempts: int = Field(5, ge=1, alias="REMIT_ADMIN_LOGIN_ATTEMPTS")
    admin_login_window_seconds: float = Field(300.0, gt=0, alias="REMIT_ADMIN_LOGIN_WINDOW_SECONDS")
    admin_proxy_user_header: str | None = Field(None, alias="REMIT_ADMIN_PROXY_USER_HEADER")
    admin_proxy_networks_spec: str = Field("127.0.0.1/32,::1/128", alias="REMIT_ADMIN_PROXY_NETWORKS")

    dunning_grace_days: int = Field(14, ge=0, le=365, alias="REMIT_DUNNING_GRACE_DAYS")
    dunning_terminal: Literal["unpaid", "canceled"] = Field("unpaid", alias="REMIT_DUNNING_TERMINAL")
    fees_settle_hours: float = Field(24.0, ge=0, alias="REMIT_FEES_SETTLE_HOURS")
    fees_drift_days: float = Field(7.0, ge=0, alias="REMIT_FEES_DRIFT_DAYS")
    fees_max_pages: int = Field(2000, ge=1, alias="REMIT_FEES_MAX_PAGES")
    fees_concurrency: int = Field(8, ge=1, le=32, alias="REMIT_FEES_CONCURRENCY")
    payment_sync_stale_minutes: float = Field(60.0, gt=0, alias="REMIT_PAYMENT_SYNC_STALE_MINUTES")
    payment_sync_batch: int = Field(200, ge=1, le=10_000, alias="REMIT_PAYMENT_SYNC_BATCH")
    payment_sync_events_window_hours: float = Field(
        24.0, gt=0, le=24 * 30, alias="REMIT_PAYMENT_SYNC_EVENTS_WINDOW_HOURS"
    )
    payment_sync_events_overlap_seconds: int = Field(
        300, ge=0, le=86_400, alias="REMIT_PAYMENT_SYNC_EVENTS_OVERLAP_SECONDS"
    )
    payment_sync_event_pages: int = Field(10, ge=1, le=1000, alias="REMIT_PAYMENT_SYNC_EVENT_PAGES")
    card_expiry_days_spec: str = Field("30,7,1", alias="REMIT_CARD_EXPIRY_DAYS")
    schedules_spec: str = Field("", alias="REMIT_SCHEDULES")

    @field_validator(
        "stripe_webhook_secret",
        "service_tokens",
        "cron_secrets",
        "job_modules",
        "origin_allow",
        "origin_exempt",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("origin_allow")
    @classmethod
    def _valid_origin_networks(cls, value: list[str]) -> list[str]:
        for position, item in enumerate(value, start=1):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"item {position} is not an IP network such as 10.0.0.0/8 or ::1/128") from None
        return value

    @field_validator("origin_header")
    @classmethod
    def _valid_header_name(cls, value: str) -> str:
        if not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
            raise ValueError("is not an HTTP header name (letters, digits, - and _)")
        return value

    @field_validator("origin_exempt")
    @classmethod
    def _valid_paths(cls, value: list[str]) -> list[str]:
        for position, path in enumerate(value, start=1):
            if not path.startswith("/"):
                raise ValueError(f"item {position} is not a path starting with /")
        return value

    @field_validator("worker_metrics_port", mode="before")
    @classmethod
    def _blank_port_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("schedules_spec")
    @classmethod
    def _valid_schedules(cls, value: str) -> str:
        parse_schedules(value)
        return value

    @field_validator("queues_spec")
    @classmethod
    def _valid_queues(cls, value: str) -> str:
        parse_queues(value)
        return value

    @field_validator("processor_queues_spec")
    @classmethod
    def _valid_processor_queues(cls, value: str) -> str:
        for position, item in enumerate(value.split(","), start=1):
            if item.strip() and not _is_identifier(item.strip()):
                raise ValueError(f"item {position} is not a queue name of [A-Za-z0-9_.-]")
        return value

    @field_validator("webhook_endpoints_spec")
    @classmethod
    def _valid_webhook_endpoints(cls, value: str) -> str:
        parse_webhook_endpoints(value)
        return value

    @field_validator("meters_spec")
    @classmethod
    def _valid_meters(cls, value: str) -> str:
        parse_meters(value)
        return value

    @field_validator("smtp_url")
    @classmethod
    def _valid_smtp_url(cls, value: str | None) -> str | None:
        if value:
            parse_smtp_url(value)
        return value or None

    @field_validator("mail_from", "mail_reply_to", "mail_operator")
    @classmethod
    def _valid_mail_address(cls, value: str | None) -> str | None:
        if value:
            problem = mail_address_problem(value)
            if problem is not None:
                raise ValueError(problem)
        return value or None

    @field_validator("card_expiry_days_spec")
    @classmethod
    def _valid_card_expiry_days(cls, value: str) -> str:
        parse_days(value)
        return value

    @field_validator("template_dir")
    @classmethod
    def _existing_directory(cls, value: str | None) -> str | None:
        if value and not os.path.isdir(value):
            raise ValueError("is not a directory")
        return value or None

    @field_validator("provisioning_trigger_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value or None

    @field_validator("provisioning_trigger_secret", "provisioning_callback_secret", "packages_spec", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def provisioning_callback_secrets(self) -> list[str]:
        """The secrets a callback's signature is checked against: the callback's own, else the trigger's."""
        secret = self.provisioning_callback_secret or self.provisioning_trigger_secret
        return [secret] if secret else []

    @field_validator("admin_password_hash")
    @classmethod
    def _known_password_hash(cls, value: str | None) -> str | None:
        if value and not value.startswith(ADMIN_HASH_PREFIXES):
            raise ValueError("must be an argon2 ($argon2id$…) or bcrypt ($2b$…) hash: see `remit admin hash-password`")
        return value or None

    @field_validator("admin_proxy_networks_spec")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        for position, item in enumerate((p.strip() for p in value.split(",") if p.strip()), start=1):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"item {position} is not an IP network (such as 10.0.0.0/8)") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "sqlite+", "postgresql:", "postgresql+", "postgres:")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @property
    def queues(self) -> dict[str, QueueSpec]:
        return parse_queues(self.queues_spec)

    @cached_property
    def meters(self) -> dict[str, MeterSpec]:
        """The declared usage meters, by remit's name for each: ``REMIT_METERS`` when it is set, else the
        ``meters`` table of the packages file (``REMIT_PACKAGES``) when it has one, else the default."""
        if "meters_spec" not in self.model_fields_set and self.packages_spec is not None:
            try:
                document = read_packages_document(self.packages_spec)
            except (OSError, ValueError, tomllib.TOMLDecodeError):
                document = {}  # the packages' own loader reports an unreadable file
            if PACKAGES_METERS_KEY in document:
                return meters_from_table(document[PACKAGES_METERS_KEY])
        return parse_meters(self.meters_spec)

    @property
    def processor_queues(self) -> tuple[str, ...]:
        """The queue keys (or names) of ``REMIT_PROCESSOR_QUEUES``: paused together when the processor's
        credentials expire."""
        return tuple(item.strip() for item in self.processor_queues_spec.split(",") if item.strip())

    @property
    def schedules(self) -> dict[str, Schedule]:
        """Periodic tasks whose schedule ``REMIT_SCHEDULES`` replaces, by task name."""
        return parse_schedules(self.schedules_spec)

    @property
    def card_expiry_days(self) -> tuple[int, ...]:
        """The days before a default card expires at which its owner is warned, largest first."""
        return parse_days(self.card_expiry_days_spec)

    @property
    def webhook_secrets(self) -> list[str]:
        """The secrets webhook signatures are checked against; the fake processor has a development one."""
        if self.stripe_webhook_secret:
            return list(self.stripe_webhook_secret)
        return [FAKE_WEBHOOK_SECRET] if self.processor == "fake" else []

    @property
    def smtp(self) -> SmtpTarget | None:
        """The SMTP server mail goes to, or None: then mail is kept in the development outbox."""
        return parse_smtp_url(self.smtp_url) if self.smtp_url else None

    @property
    def mail_sender(self) -> str:
        """The ``From`` of every mail: ``REMIT_MAIL_FROM``, else a placeholder the outbox can show."""
        return self.mail_from or DEVELOPMENT_MAIL_FROM

    @property
    def admin_proxy_networks(self) -> list[str]:
        """The networks a proxy naming the admin may connect from (``REMIT_ADMIN_PROXY_NETWORKS``)."""
        return [item.strip() for item in self.admin_proxy_networks_spec.split(",") if item.strip()]

    @property
    def admin_enabled(self) -> bool:
        """Whether ``/admin`` lets anyone in: a password hash is set, or a proxy names the user."""
        return bool(self.admin_password_hash or self.admin_proxy_user_header)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def serves_fake_api(self) -> bool:
        """Whether the fake processor's HTTP face (``/fake/v1``) is mounted: for the fake, outside production."""
        return self.processor == "fake" and not self.is_production

    @property
    def serves_api_docs(self) -> bool:
        """Whether the OpenAPI document (``/openapi.json``) is served: ``REMIT_API_DOCS`` if set, else everywhere
        but production (the document maps every route for whoever asks)."""
        return self.api_docs if self.api_docs is not None else not self.is_production

    @property
    def serves_interactive_docs(self) -> bool:
        """Whether ``/docs`` and ``/redoc`` are served: with the document, and never in production or against
        the live processor, whatever ``REMIT_API_DOCS`` says (their pages load scripts from a CDN and invite
        trying requests out)."""
        return self.serves_api_docs and not self.is_production and self.processor != "stripe"

    def mode_problems(self) -> list[str]:
        """What the chosen processor mode and environment need and do not have."""
        problems: list[str] = []
        if self.processor == "stripe":
            if not self.stripe_api_key:
                problems.append("STRIPE_API_KEY is required when REMIT_PROCESSOR=stripe")
            if not self.stripe_webhook_secret:
                problems.append("STRIPE_WEBHOOK_SECRET is required when REMIT_PROCESSOR=stripe")
        if self.smtp_url and not self.mail_from:
            problems.append("REMIT_MAIL_FROM is required when REMIT_SMTP_URL is set")
        if self.ops_webhook_url and not self.ops_webhook_secret:
            problems.append(
                "REMIT_OPS_WEBHOOK_SECRET is required when REMIT_OPS_WEBHOOK_URL is set (deliveries are signed)"
            )
        if self.ops_webhook_url and not self.ops_webhook_url.startswith(("http://", "https://")):
            problems.append("REMIT_OPS_WEBHOOK_URL must be an http:// or https:// URL")
        try:
            self.meters  # noqa: B018 - the packages file's meters are checked at start, like REMIT_METERS
        except ValueError as error:
            problems.append(f"REMIT_PACKAGES: {error}")
        if self.is_production:
            problems += self.production_problems()
        return problems

    def production_problems(self) -> list[str]:
        """What makes this configuration unsafe to serve real traffic, each naming its variable only."""
        problems: list[str] = []
        if self.processor != "stripe":
            problems.append(
                "REMIT_PROCESSOR must be stripe when REMIT_ENV=production (the fake processor signs webhooks with "
                "a development secret published in remit's source)"
            )
        if FAKE_WEBHOOK_SECRET in self.stripe_webhook_secret:
            problems.append("STRIPE_WEBHOOK_SECRET holds the fake processor's public development secret")
        if not self.service_tokens:
            problems.append("REMIT_SERVICE_TOKENS is required when REMIT_ENV=production")
        if self.admin_enabled and not self.admin_session_secret:
            problems.append(
                "REMIT_ADMIN_SESSION_SECRET is required when the admin page is on in production (sessions must "
                "survive a restart and be valid on every `remit serve`)"
            )
        if self.admin_session_secret and len(self.admin_session_secret) < MIN_SERVICE_TOKEN_LENGTH:
            problems.append(f"REMIT_ADMIN_SESSION_SECRET must be at least {MIN_SERVICE_TOKEN_LENGTH} characters")
        for position, token in enumerate(self.service_tokens, start=1):
            weakness = service_token_problem(token)
            if weakness is not None:
                problems.append(f"REMIT_SERVICE_TOKENS: token {position} {weakness} (required in production)")
        for position, secret in enumerate(self.cron_secrets, start=1):
            weakness = service_token_problem(secret)
            if weakness is not None:
                problems.append(f"CRON_SECRET: secret {position} {weakness} (required in production)")
        return problems


def field_env_names() -> dict[str, str]:
    """Map each settings field to its environment variable."""
    return {name: str(field.alias) for name, field in Settings.model_fields.items()}


def _is_secret_variable(name: str) -> bool:
    return name in ("DATABASE_URL", "REMIT_SMTP_URL") or any(
        part in name for part in ("SECRET", "KEY", "TOKEN", "PASSWORD")
    )


def _without_values(message: str, given: Mapping[str, str]) -> str:
    """``message`` with the given values (and each comma-separated piece of them) masked.

    Validators are written not to echo values; this is the net under them, because one slip would print a
    secret into a deploy log. Every piece of a secret variable is masked; of other variables only pieces of
    eight characters or more, since shorter ones are words like ``stripe`` or ``json`` that also occur in
    the message itself, and masking them would garble it.
    """
    pieces: set[str] = set()
    for name, value in given.items():
        shortest = 3 if _is_secret_variable(name) else 8
        pieces.update(p.strip() for p in [value, *value.split(",")] if len(p.strip()) >= shortest)
    for piece in sorted(pieces, key=len, reverse=True):
        message = message.replace(piece, "<value>")
    return message


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate settings; raise one :class:`ConfigurationError` naming every problem.

    ``environ`` defaults to the process environment. Values never appear in the error.
    """
    env = dict(os.environ if environ is None else environ)
    names = set(field_env_names().values())
    given = {key: value for key, value in env.items() if key in names}
    problems: list[str] = []
    try:
        settings = Settings.model_validate(given)
    except ValidationError as exc:
        invalid: set[str] = set()
        for error in exc.errors(include_input=False, include_url=False):
            variable = str(error["loc"][0]) if error["loc"] else "settings"
            invalid.add(variable)
            message = _without_values(str(error["msg"]), given)
            problems.append(f"{variable}: {message}")
        # Check the mode's needs too, with the invalid variables at their defaults, so that one message
        # names every problem (an invalid REMIT_QUEUES and a missing STRIPE_API_KEY together).
        try:
            settings = Settings.model_validate({k: v for k, v in given.items() if k not in invalid})
        except ValidationError:
            raise ConfigurationError(problems) from None
    problems += settings.mode_problems()
    problems += [
        f"{e.secret_variable} is required by webhook endpoint {e.name!r} (REMIT_WEBHOOK_ENDPOINTS)"
        for e in parse_webhook_endpoints(settings.webhook_endpoints_spec)
        if not env.get(e.secret_variable)
    ]
    if problems:
        raise ConfigurationError(problems)
    return settings


__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_METERS",
    "DEFAULT_PROCESSOR_QUEUES",
    "DEFAULT_QUEUES",
    "DEVELOPMENT_MAIL_FROM",
    "FAKE_WEBHOOK_SECRET",
    "MAX_METER_DECIMALS",
    "METER_AGGREGATIONS",
    "MIN_SERVICE_TOKEN_DISTINCT",
    "MIN_SERVICE_TOKEN_LENGTH",
    "PACKAGES_METERS_KEY",
    "MeterSpec",
    "QueueSpec",
    "Settings",
    "SmtpTarget",
    "WebhookEndpointSpec",
    "field_env_names",
    "load_settings",
    "mail_address_problem",
    "meters_from_table",
    "parse_days",
    "parse_meters",
    "parse_queues",
    "parse_smtp_url",
    "parse_webhook_endpoints",
    "read_packages_document",
    "service_token_problem",
]
