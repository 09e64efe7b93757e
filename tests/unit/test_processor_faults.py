"""What a processor failure means for a job (pure): its kind by status, and how long a throttled job waits."""

from __future__ import annotations

import pytest

from remit.errors import ProcessorError
from remit.processor.faults import (
    THROTTLE_CAP_S,
    THROTTLE_DEFAULT_S,
    THROTTLE_FLOOR_S,
    THROTTLE_JITTER,
    Fault,
    classify,
    throttle_delay,
)


@pytest.mark.parametrize(
    ("status", "fault"),
    [
        (429, Fault.THROTTLED),
        (401, Fault.CREDENTIALS_EXPIRED),
        (403, Fault.CREDENTIALS_EXPIRED),
        (500, Fault.TRANSIENT),
        (502, Fault.TRANSIENT),
        (504, Fault.TRANSIENT),
        (None, Fault.TRANSIENT),  # a timeout or a refused connection: nothing answered
        (400, Fault.REFUSED),
        (402, Fault.REFUSED),
        (404, Fault.REFUSED),
        (409, Fault.REFUSED),
    ],
)
def test_each_status_has_one_kind(status: int | None, fault: Fault) -> None:
    assert classify(ProcessorError("x", status_code=status)) is fault


def test_retry_after_is_honoured_and_jitter_only_adds() -> None:
    assert throttle_delay(7, 0.0) == 7
    assert throttle_delay(7, 0.999) == pytest.approx(7 * (1 + THROTTLE_JITTER * 0.999))
    assert all(7 <= throttle_delay(7, n / 10) <= 7 * (1 + THROTTLE_JITTER) for n in range(10))


def test_without_retry_after_the_default_wait_applies() -> None:
    assert throttle_delay(None, 0.0) == THROTTLE_DEFAULT_S


def test_retry_after_is_held_between_the_floor_and_the_cap() -> None:
    assert throttle_delay(0, 0.0) == THROTTLE_FLOOR_S  # zero must not spin the job
    assert throttle_delay(86_400, 0.0) == THROTTLE_CAP_S  # a day must not park it
    assert throttle_delay(86_400, 0.5) == pytest.approx(THROTTLE_CAP_S * (1 + THROTTLE_JITTER / 2))


def test_a_random_draw_out_of_range_is_clamped() -> None:
    assert throttle_delay(10, -1.0) == 10
    assert throttle_delay(10, 5.0) == pytest.approx(10 * (1 + THROTTLE_JITTER))
