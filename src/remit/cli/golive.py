"""``remit golive check``: the go-live checklist, each line ok or fail with its fix (:mod:`remit.golive`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

from remit.cli.jobs import USAGE_EXIT_CODE, JsonOption
from remit.cli.output import fail, print_list, run_with_runtime
from remit.runtime import Runtime

if TYPE_CHECKING:
    from remit.golive import Line

app = typer.Typer(help="The go-live checklist: every item ok or fail, with its fix.", no_args_is_help=True)


@app.command("check")
def check_command(
    url: Annotated[str | None, typer.Option("--url", help="remit's public base URL (default: REMIT_URL).")] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode", help="The processor key's expected mode: live or test (default: live in production, else test)."
        ),
    ] = None,
    origin_guard: Annotated[
        str, typer.Option("--origin-guard", help="The origin guard's expected state: on or off.")
    ] = "on",
    as_json: JsonOption = False,
) -> None:
    """The go-live checklist: schema, key, webhook endpoint and secret, tokens, flags, read API; exit 0 if all pass."""
    if mode is not None and mode not in ("live", "test"):
        fail(f"--mode is live or test, not {mode!r}", code=USAGE_EXIT_CODE)
    if origin_guard not in ("on", "off"):
        fail(f"--origin-guard is on or off, not {origin_guard!r}", code=USAGE_EXIT_CODE)
    from remit.golive import Expectations, checklist  # reads the schema's revision: Alembic, for this command only

    async def main(runtime: Runtime) -> list[Line]:
        settings = runtime.settings
        expected = Expectations(
            mode=mode or ("live" if settings.is_production else "test"),
            origin_guard=origin_guard == "on",
            base_url=url or settings.url,
        )
        return await checklist(runtime, expected)

    lines = run_with_runtime(main)
    if as_json:
        print_list([line.to_json() for line in lines], as_json=True, columns=[], title="")
    else:
        console = Console(soft_wrap=True, highlight=False)
        for line in lines:
            mark = Text("ok  ", style="green") if line.ok else Text("FAIL", style="bold red")
            console.print(Text.assemble(mark, " ", line.name, ": ", line.detail))
            if line.fix:
                console.print(Text.assemble("      fix: ", line.fix))
        passed = sum(line.ok for line in lines)
        console.print(f"{passed}/{len(lines)} passed" + ("" if passed == len(lines) else "; not ready to go live"))
    raise typer.Exit(0 if all(line.ok for line in lines) else 1)


def register(root: typer.Typer) -> None:
    """Add ``golive`` to the root ``app``."""
    root.add_typer(app, name="golive")


__all__ = ["app", "check_command", "register"]
