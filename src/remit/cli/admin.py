"""Admin page commands: ``remit admin hash-password`` makes the value of ``REMIT_ADMIN_PASSWORD_HASH``.

The password is read without echo and asked twice on a terminal; when standard input is not a terminal (a
script), its first line is the password, and an empty or closed standard input is one line of error and exit
2. Only the argon2id hash is printed: the password itself is never shown or stored.
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(help="The admin page (/admin): its login.", no_args_is_help=True)

#: Shorter passwords are refused: the admin page can pause billing.
MIN_PASSWORD_LENGTH = 12


def read_piped_password() -> str:
    """The first line of standard input when it is not a terminal; exit 2 with one line when it holds none."""
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.rstrip("\r\n")
    if not password:
        typer.echo(
            "error: no password on standard input: run remit admin hash-password in a terminal "
            "(it asks twice, without echo), or pipe one line to it",
            err=True,
        )
        raise typer.Exit(2)
    return password


@app.command("hash-password")
def hash_password_command() -> None:
    """Print an argon2id hash of a password for REMIT_ADMIN_PASSWORD_HASH (the password is read, never shown)."""
    # Here, not at the top: remit.admin is the admin page (FastAPI, sessions, rate limits), which no other
    # command needs, and every command would import it (tests/e2e/test_cli_startup.py).
    from remit.admin.passwords import hash_password

    if sys.stdin is not None and sys.stdin.isatty():
        password = typer.prompt("Admin password", hide_input=True, confirmation_prompt=True)
    else:
        password = read_piped_password()
    if len(password) < MIN_PASSWORD_LENGTH:
        typer.echo(f"error: the password must be at least {MIN_PASSWORD_LENGTH} characters", err=True)
        raise typer.Exit(2)
    typer.echo(hash_password(password))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="admin")


__all__ = ["app", "register"]
