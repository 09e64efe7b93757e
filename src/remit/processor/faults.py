"""What a processor failure means for the job that met it: one classification, one throttle delay (pure).

Every :class:`~remit.errors.ProcessorError` falls in one of four kinds, decided by its status alone so both
processors agree:

- ``THROTTLED`` (429): the processor asks us to slow down; the call was not acted on. Wait and call again,
  spending nothing.
- ``CREDENTIALS_EXPIRED`` (401, 403): remit's key was refused (expired, revoked, rolled, or a restricted key
  lacking a permission). No retry succeeds until a person rotates it.
- ``TRANSIENT`` (5xx, or no answer: a timeout or a refused connection): the processor or the network may
  recover; retry with backoff.
- ``REFUSED`` (any other 4xx: 400, 402, 404, 409 …): this request itself is wrong or declined; retrying the
  same request answers the same. The calling job decides (often :class:`~remit.jobs.signals.Discard`).
"""

from __future__ import annotations

from enum import StrEnum

from remit.errors import ProcessorError

#: Without ``Retry-After`` (Stripe rarely sends one), a throttled job waits this long.
THROTTLE_DEFAULT_S = 5.0
#: ``Retry-After`` is held between these bounds: 0 must not spin a job, a day must not park it.
THROTTLE_FLOOR_S = 1.0
THROTTLE_CAP_S = 600.0
#: Up to this share is added to the wait, so jobs throttled together do not come back together.
THROTTLE_JITTER = 0.25
#: A job that met expired credentials waits this long; its queue is paused meanwhile, so after
#: ``remit queues resume`` it runs within this delay.
CREDENTIALS_EXPIRED_SNOOZE_S = 5.0


class Fault(StrEnum):
    THROTTLED = "throttled"
    CREDENTIALS_EXPIRED = "credentials_expired"
    TRANSIENT = "transient"
    REFUSED = "refused"


def classify(error: ProcessorError) -> Fault:
    """The kind of ``error`` (see the module docs)."""
    status = error.status_code
    if status is None or status >= 500:
        return Fault.TRANSIENT
    if status == 429:
        return Fault.THROTTLED
    if status in (401, 403):
        return Fault.CREDENTIALS_EXPIRED
    return Fault.REFUSED


def throttle_delay(retry_after: float | None, rand: float) -> float:
    """Seconds a throttled job waits: ``Retry-After`` (else :data:`THROTTLE_DEFAULT_S`) held within
    [:data:`THROTTLE_FLOOR_S`, :data:`THROTTLE_CAP_S`], plus ``rand`` (in [0, 1)) times :data:`THROTTLE_JITTER` of
    itself. Jitter only adds: a job never comes back before the processor said it may."""
    wanted = THROTTLE_DEFAULT_S if retry_after is None else retry_after
    held = min(max(wanted, THROTTLE_FLOOR_S), THROTTLE_CAP_S)
    return held * (1.0 + THROTTLE_JITTER * min(max(rand, 0.0), 1.0))


__all__ = [
    "CREDENTIALS_EXPIRED_SNOOZE_S",
    "THROTTLE_CAP_S",
    "THROTTLE_DEFAULT_S",
    "THROTTLE_FLOOR_S",
    "THROTTLE_JITTER",
    "Fault",
    "classify",
    "throttle_delay",
]
