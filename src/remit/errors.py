"""One exception hierarchy for remit.

``RemitError``
 ├── ``ConfigurationError``     settings missing or invalid at start-up
 ├── ``DatabaseUnavailable``    the database refused or dropped the connection (maps to HTTP 503)
 ├── ``JobError``
 │    └── ``UnknownJob``        a job name that no code registered
 ├── ``WebhookError``           a webhook that is refused before anything is stored
 ├── ``PermanentFailure``       a webhook handler's failure no retry can fix: dead-letter the event now
 │    └── ``MalformedEvent``    (remit.billing.routing) an envelope the mirror cannot order
 ├── ``ProcessorError``         the payment processor answered with an error
 └── ``UpcastError``            a ledger event of a schema version no upcaster knows

Driver and processor errors are mapped into this tree at the boundary, so callers never need to know whether
SQLite, PostgreSQL, the fake processor or Stripe sat underneath. Messages carry identifiers only: never
secrets, raw bodies or customer data.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of ``remit up``, ``serve``, ``worker`` and ``migrate``, stable for supervisors and
    scripts; every command that finds the database unavailable exits ``DATABASE_UNAVAILABLE`` (``doctor`` and
    ``golive check`` report it as a failed check instead, and exit 1). Here rather than in
    :mod:`remit.service` (which re-exports it) so a command can name a code without importing the HTTP server."""

    OK = 0
    FAILED = 1
    CONFIGURATION = 2
    DATABASE_UNAVAILABLE = 3


class RemitError(Exception):
    """The root of every error remit raises on purpose."""


class ConfigurationError(RemitError):
    """Start-up settings are missing or invalid; ``problems`` names every one of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration: " + "; ".join(problems))


class DatabaseUnavailable(RemitError):
    """The database could not be reached; callers should answer 503 so the sender retries."""


class JobError(RemitError):
    """A problem with a job definition or record."""


class UnknownJob(JobError):
    """No job is registered under this name."""


class WebhookError(RemitError):
    """A webhook request refused before anything was stored; ``code`` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str, status_code: int = 400) -> None:
        self.code = code
        self.status_code = status_code
        super().__init__(message)


class PermanentFailure(RemitError):
    """Raised by a webhook handler when retrying this event cannot help: the event (or the host data it
    names) is wrong, not a dependency that may recover — say, subscription metadata a person mistyped.

    Dispatch records the failure on the event like any other, but when every handler that failed in an
    attempt failed this way it dead-letters the event at once instead of retrying it for days; an operator
    fixes the cause and replays it. A transient failure in the same attempt keeps the event retrying. It
    lives here rather than in ``remit.webhooks`` so remit's own handler code (the mirror's routing) can
    raise it without depending on the webhook package. The message is stored and shown to operators:
    identifiers only, never customer data.
    """


class ProcessorError(RemitError):
    """The payment processor refused a call or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.retry_after = retry_after
        self.code = code
        #: The request parameter the processor named as at fault (a name, never a value), if it named one.
        self.param = param
        super().__init__(message)

    @property
    def is_rate_limit(self) -> bool:
        return self.status_code == 429

    @property
    def is_retryable(self) -> bool:
        return self.status_code is None or self.status_code == 429 or self.status_code >= 500


class UpcastError(RemitError):
    """A stored ledger event has a schema version that no upcaster can bring to the current one."""
