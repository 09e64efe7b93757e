"""``remit up``'s service loop in-process: a part that stops on its own stops the other, and the port check
that ``remit up`` makes before migrating."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from remit import service
from remit.config import Settings
from remit.parts import build_runtime


class IdleWorker:
    """A worker that runs until asked to stop, and remembers that it was."""

    def __init__(self) -> None:
        self.stopped = asyncio.Event()

    async def run(self) -> None:
        await self.stopped.wait()

    def request_stop(self) -> None:
        self.stopped.set()


async def test_when_the_http_half_cannot_start_the_worker_is_stopped_and_the_exit_is_non_zero(
    settings: Settings,
) -> None:
    worker = IdleWorker()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = await asyncio.wait_for(
            service.run(
                settings,
                host="127.0.0.1",
                port=port,
                with_worker=True,
                run_migrations=False,
                worker_factory=lambda _runtime: worker,
                runtime=build_runtime(settings),
            ),
            timeout=30,
        )
    assert code == service.ExitCode.FAILED
    assert worker.stopped.is_set()


def test_a_port_something_listens_on_is_in_use_and_a_free_one_is_not() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert service.port_in_use("127.0.0.1", port)
        near = service.free_port_near("127.0.0.1", port)
        assert near is not None
        assert near > port
        assert not service.port_in_use("127.0.0.1", near)
    assert not service.port_in_use("127.0.0.1", 0)


def test_migrating_an_up_to_date_database_logs_nothing_at_info(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="remit.service")
    service.migrate_database(db_url)  # the fixture's database is at head already
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []
    service.migrate_database(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == ["database migrated"]
