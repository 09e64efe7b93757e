"""``remit mail``: the mail log and the development outbox.

``list`` shows the mail remit owes or sent (never an address: the log holds none); ``show ID`` one mail,
and — when it went to the development outbox (no ``REMIT_SMTP_URL``) — its message's parts (types, sizes, the
attachment's file name); ``--eml FILE`` writes the whole message, addresses included, to a file for a mail
client. The subject and the text are never printed: they are templates rendered with the customer's name (and
whatever a host's templates add), which no redaction can be sure to catch, and customer PII never reaches CLI
output (the ``--body`` that printed them is refused, pointing at ``--eml``). ``retry ID`` sends a ``failed``
or ``skipped`` mail again, audited under ``--actor``.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Annotated, Any

import typer

from remit.cli.output import fail, fetch_limit, print_list, print_object, run_with_runtime
from remit.cli.webhooks import default_actor
from remit.mail.jobs import retry_mail
from remit.mail.kinds import MailKind
from remit.mail.log import MailState, get_mail, list_mail
from remit.mail.outbox import outbox_message, parse_message
from remit.runtime import Runtime

app = typer.Typer(help="Transactional mail: the log, the development outbox, retries.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
LIST_COLUMNS = ["id", "kind", "state", "subject_id", "customer_id", "attachment", "transport", "sent_at", "error"]


def register(root: typer.Typer) -> None:
    """Add the ``mail`` group to the root ``app``."""
    root.add_typer(app, name="mail")


def _choice(value: str | None, enum: type[MailState] | type[MailKind], option: str) -> Any:
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        raise typer.BadParameter(
            f"unknown value {value!r}; one of {', '.join(member.value for member in enum)}", param_hint=option
        ) from None


@app.command("list")
def list_command(
    state: Annotated[str | None, typer.Option("--state", help="Only this state (pending, sending, sent…).")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind (receipt, payment_failed…).")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer id.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List mail, newest first."""
    chosen_state = _choice(state, MailState, "'--state'")
    chosen_kind = _choice(kind, MailKind, "'--kind'")

    async def main(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.db.connect() as conn:
            records = await list_mail(
                conn,
                states=[chosen_state] if chosen_state else [],
                kinds=[chosen_kind] if chosen_kind else [],
                customer_id=customer,
                limit=fetch_limit(limit),
            )
        return [record.to_json() for record in records]

    rows = run_with_runtime(main)
    for row in rows:
        error = row["last_error"] or {}
        row["error"] = error.get("reason") or error.get("type")
    print_list(rows, limit=limit, as_json=as_json, columns=LIST_COLUMNS, title="mail")


def describe_message(message: EmailMessage) -> dict[str, Any]:
    """A stored message for operators: ids, date and parts. Never the addresses, the subject or the text,
    which may hold personal data (``--eml`` writes the message to a file the operator asked for)."""
    parts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        entry: dict[str, Any] = {
            "content_type": part.get_content_type(),
            "bytes": len(payload) if isinstance(payload, bytes) else 0,
        }
        if part.get_filename():
            entry["filename"] = part.get_filename()
        parts.append(entry)
    return {"message_id": message["Message-ID"], "date": message["Date"], "parts": parts}


@app.command("show")
def show_command(
    mail_id: Annotated[int, typer.Argument(metavar="ID", help="The mail's id (see list).")],
    body: Annotated[
        bool, typer.Option("--body", hidden=True, help="Refused: the text holds the customer's name.")
    ] = False,
    eml: Annotated[
        Path | None, typer.Option("--eml", help="Write the whole message (addresses included) to this .eml file.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """One mail: its log entry, and its message's parts when the development outbox holds it."""
    if body:
        fail(
            "--body is gone: the subject and text hold the customer's name, which remit never prints; "
            f"write the message to a file instead: remit mail show {mail_id} --eml mail-{mail_id}.eml",
            code=2,
        )

    async def main(runtime: Runtime) -> tuple[dict[str, Any], bytes | None] | None:
        async with runtime.db.connect() as conn:
            record = await get_mail(conn, mail_id)
            if record is None:
                return None
            content = await outbox_message(conn, record.message_id)
        return record.to_json(), content

    found = run_with_runtime(main)
    if found is None:
        fail(f"no mail {mail_id}")
    shown, content = found
    if content is None:
        shown["message"] = None
        if eml is not None:
            fail(f"mail {mail_id} is not in the development outbox (sent through SMTP, or not sent yet)")
    else:
        shown["message"] = describe_message(parse_message(content))
        if eml is not None:
            try:
                eml.write_bytes(content)
            except OSError as exc:
                fail(f"cannot write {eml}: {exc.strerror or type(exc).__name__}")
            shown["eml"] = str(eml)
    if as_json:
        print_object(shown, True)
        return
    message = shown.pop("message")
    print_object(shown, False)
    if message is None:
        typer.echo("message: not in the development outbox (sent through SMTP, or not sent yet)")
        return
    typer.echo(f"message: {message['message_id']}, {message['date']}")
    for part in message["parts"]:
        name = f" {part['filename']}" if "filename" in part else ""
        typer.echo(f"  part: {part['content_type']}{name}, {part['bytes']} bytes")


@app.command("retry")
def retry_command(
    mail_id: Annotated[int, typer.Argument(metavar="ID", help="A failed or skipped mail.")],
    actor: Annotated[str | None, typer.Option("--actor", help="Who is acting (default: operator:$USER).")] = None,
) -> None:
    """Send a failed or skipped mail again (a new send job; audited)."""
    who = default_actor(actor)

    async def main(runtime: Runtime) -> Any:
        return await retry_mail(runtime, mail_id, actor=who)

    record = run_with_runtime(main)
    if record is None:
        fail(f"mail {mail_id} is not failed or skipped (remit mail show {mail_id})")
    typer.echo(f"mail {mail_id} ({record.kind.value}) queued to send again")


__all__ = ["app", "describe_message", "register"]
