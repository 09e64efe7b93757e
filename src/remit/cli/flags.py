"""Runtime flags commands: ``remit flags list`` and ``remit flags set NAME on|off``.

A flag set here is written to the database and obeyed by every remit process within
``REMIT_FLAGS_REFRESH_SECONDS`` (2 s), without a restart (:mod:`remit.flags`). Setting one is audited
(``flags.set``); switching ``billing`` emits ``billing_switched``, and switching it on releases the webhook
events held while it was off.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from remit.cli.hints import command
from remit.cli.jobs import USAGE_EXIT_CODE, ActorOption, JsonOption, actor_of
from remit.cli.output import fail, print_list, print_object, run_with_runtime
from remit.control.switches import Switched, switch
from remit.flags import FLAGS, Switches
from remit.runtime import Runtime

app = typer.Typer(help="Runtime flags every process obeys within seconds: billing, origin_guard.", no_args_is_help=True)

COLUMNS = ["name", "enabled", "source", "variable", "updated_at", "updated_by"]
VALUES = {"on": True, "off": False}


def flag_rows(switches: Switches) -> list[dict[str, Any]]:
    """One row per flag, then the emergency stop when one is in force (pure)."""
    rows = [state.to_json() for state in switches.flags.values()]
    if switches.stop is not None:
        rows.append(
            {
                "name": "emergency_stop",
                "enabled": True,
                "source": "database",
                "variable": None,
                "updated_at": switches.stop.since.isoformat(),
                "updated_by": switches.stop.by,
                "queues": list(switches.stop.queues),
            }
        )
    return rows


@app.command("list")
def list_command(as_json: JsonOption = False) -> None:
    """Each flag: on or off, and whether an operator set it (database) or REMIT_FLAG_* gives it."""

    async def main(runtime: Runtime) -> list[dict[str, Any]]:
        return flag_rows(await runtime.flags.switches(fresh=True))

    print_list(run_with_runtime(main), as_json=as_json, columns=COLUMNS, title="flags")


@app.command("set")
def set_command(
    name: Annotated[str, typer.Argument(help=f"The flag: {', '.join(FLAGS)}.")],
    value: Annotated[str, typer.Argument(help="on or off.")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Switch a flag on or off for every process (audited; billing also emits billing_switched)."""
    if name not in FLAGS:
        fail(f"no flag {name!r}; the flags are: {', '.join(FLAGS)}", code=USAGE_EXIT_CODE)
    if value not in VALUES:
        fail(f"a flag is set to on or off, not {value!r}", code=USAGE_EXIT_CODE)
    enabled = VALUES[value]

    async def main(runtime: Runtime) -> Switched:
        return await switch(runtime, name, enabled, actor=actor_of(actor))

    done = run_with_runtime(main)
    outcome = {
        "name": name,
        "enabled": enabled,
        "changed": done.change.changed,
        "previous": done.change.before.enabled,
        "previous_source": done.change.before.source,
        "released": done.released,
    }
    if as_json:
        print_object(outcome, True)
        return
    state = "on" if enabled else "off"
    verb = f"switched {state}" if done.change.changed else f"was already {state}; now held in the database"
    typer.echo(f"flag {name} {verb}; every process obeys it within a few seconds")
    if done.released:
        typer.echo(f"released {done.released} held webhook event(s)")
    if name == "billing" and not enabled:
        typer.echo(f"webhook events are stored and held; `{command('flags set billing on')}` releases them")


def register(root: typer.Typer) -> None:
    """Add ``flags`` to the root ``app``."""
    root.add_typer(app, name="flags")


__all__ = ["app", "flag_rows", "list_command", "register", "set_command"]
