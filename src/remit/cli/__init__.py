"""The ``remit`` command: one sub-command per operator action, grouped by part.

Each group lives in its own module with its own ``app``; this module only puts them together. Commands that
list things take ``--json`` and then print exactly one JSON array.
"""

from __future__ import annotations

import typer

from remit.cli import (
    admin,
    demo,
    dunning,
    fake,
    flags,
    golive,
    invoices,
    jobs,
    mail,
    payments,
    provisioning,
    reconcile,
    schedule,
    service,
    stop,
    usage,
    webhook_endpoints,
    webhooks,
)
from remit.cli.hints import remit_command
from remit.cli.output import forget_database

app = typer.Typer(
    name="remit",
    help="remit: billing operations — webhooks, a billing mirror and a durable job engine on one SQL database.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def remit() -> None:
    """remit: billing operations — webhooks, a billing mirror and a durable job engine on one SQL database."""
    forget_database()  # errors name the database once this command has loaded its settings


jobs.register(app)
schedule.register(app)
service.register(app)
webhooks.register(app)
webhooks.app.command("register")(webhook_endpoints.register_command)
webhooks.app.command("check")(webhook_endpoints.check_command)
fake.register(app)
flags.register(app)
stop.register(app)
golive.register(app)
demo.register(app)
invoices.register(app)
mail.register(app)
provisioning.register(app)
usage.register(app)
admin.register(app)
dunning.register(app)
reconcile.register(app)
payments.register(app)


def main() -> None:
    # Click's usage errors say "Try 'remit … --help'": name the command as this shell reaches it.
    app(prog_name=remit_command())
