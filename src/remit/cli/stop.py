"""The emergency stop: ``remit stop --all|--queue NAME`` and ``remit start --all|--queue NAME``.

``stop --all`` pauses every queue and holds every incoming webhook (ingest keeps storing them: nothing is lost)
in one audited step; ``start --all`` undoes exactly that and releases the held events. ``--queue NAME`` stops
or starts one queue. Each emits the ops event ``emergency_stop``; ``GET /health`` says ``degraded`` with the
reason while anything is stopped (:mod:`remit.control.stop`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from remit.cli.hints import command
from remit.cli.jobs import USAGE_EXIT_CODE, ActorOption, JsonOption, actor_of
from remit.cli.output import fail, print_object, run_with_runtime
from remit.control.stop import StopResult, start_all, start_queue, stop_all, stop_queue
from remit.runtime import Runtime

AllOption = Annotated[bool, typer.Option("--all", help="Every queue, and webhook dispatch.")]
QueueOption = Annotated[str | None, typer.Option("--queue", help="One queue (its key or name).")]


def _scope(every: bool, queue: str | None, verb: str) -> None:
    if every == (queue is not None):
        fail(f"`{command(verb)}` takes either --all or --queue NAME", code=USAGE_EXIT_CODE)


async def _known(runtime: Runtime, queue: str) -> list[str] | None:
    """None when ``queue`` exists (configured, holding jobs, or paused), else the known queues."""
    known = await runtime.engine.known_queues()
    return None if runtime.engine.queue_name(queue) in known else known


def _run(every: bool, queue: str | None, *, stopping: bool, actor: str | None) -> StopResult:
    who = actor_of(actor)

    async def main(runtime: Runtime) -> StopResult | list[str]:
        if queue is not None:
            unknown = await _known(runtime, queue)
            if unknown is not None:
                return unknown
            return await (stop_queue if stopping else start_queue)(runtime, queue, actor=who)
        return await (stop_all if stopping else start_all)(runtime, actor=who)

    outcome = run_with_runtime(main)
    if isinstance(outcome, list):
        fail(f"no queue {queue!r}; the queues are: {', '.join(outcome)}", code=USAGE_EXIT_CODE)
    return outcome


def stop_command(
    every: AllOption = False, queue: QueueOption = None, actor: ActorOption = None, as_json: JsonOption = False
) -> None:
    """Emergency stop: pause every queue and hold incoming webhooks (--all), or pause one queue (--queue)."""
    _scope(every, queue, "stop")
    result = _run(every, queue, stopping=True, actor=actor)
    if as_json:
        print_object(result.to_json(), True)
        return
    if result.scope == "queue":
        typer.echo(f"queue {result.queues[0]} stopped; `{command('start --queue', result.queues[0])}` resumes it")
        return
    typer.echo(
        f"emergency stop: {len(result.queues)} queue(s) paused"
        + (f", {len(result.untouched)} were already paused" if result.untouched else "")
        + "; incoming webhooks are stored and held"
    )
    typer.echo(f"`{command('start --all')}` undoes it")


def start_command(
    every: AllOption = False, queue: QueueOption = None, actor: ActorOption = None, as_json: JsonOption = False
) -> None:
    """Undo the emergency stop: resume the queues it paused and release held webhooks (--all), or one queue."""
    _scope(every, queue, "start")
    result = _run(every, queue, stopping=False, actor=actor)
    if as_json:
        print_object(result.to_json(), True)
        return
    if result.scope == "queue":
        typer.echo(f"queue {result.queues[0]} started")
        return
    typer.echo(f"started: {len(result.queues)} queue(s) resumed, {result.released} held webhook event(s) released")
    for name in result.untouched:
        typer.echo(
            f"queue {name} stays paused (paused apart from the stop); `{command('start --queue', name)}` resumes it"
        )


def register(root: typer.Typer) -> None:
    """Add ``stop`` and ``start`` to the root ``app``."""
    root.command("stop")(stop_command)
    root.command("start")(start_command)


__all__ = ["register", "start_command", "stop_command"]
