"""Job engine commands: ``worker``, ``queues``, ``jobs``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands and groups to the root ``app``."""
    jobs_app = typer.Typer(help="Inspect and act on jobs.", no_args_is_help=True)
    app.add_typer(jobs_app, name="jobs")
