"""``remit invoices``: invoice documents.

``pdf ID -o FILE`` writes the invoice's current version as a PDF (rendered and stored on first use, exactly
as ``GET /api/v1/billing/invoices/{id}/pdf`` serves it); ``-o -`` writes it to stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from remit.cli.output import fail, print_object, run_with_runtime
from remit.documents.engine import PdfEngineUnavailable
from remit.documents.generate import InvoiceNotFinalized, InvoiceNotFound, ensure_document
from remit.runtime import Runtime

app = typer.Typer(help="Invoice documents: the PDF of an invoice.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Add the ``invoices`` group to the root ``app``."""
    root.add_typer(app, name="invoices")


@app.command("pdf")
def pdf_command(
    invoice_id: Annotated[str, typer.Argument(metavar="ID", help="The invoice's processor id (in_…).")],
    output: Annotated[str, typer.Option("--output", "-o", help="Where to write the PDF ('-': stdout).")],
    as_json: Annotated[bool, typer.Option("--json", help="Describe the document as JSON on stdout.")] = False,
) -> None:
    """Write the invoice's document (its current version) as a PDF."""
    if output == "-" and as_json:
        fail("--json and -o - both want stdout: write the PDF to a file")

    async def main(runtime: Runtime) -> Any:
        try:
            return await ensure_document(runtime, invoice_id)
        except InvoiceNotFound:
            fail(f"no invoice {invoice_id!r} in the mirror (remit webhooks list --type 'invoice.*')")
        except InvoiceNotFinalized as exc:
            fail(f"invoice {invoice_id!r} is {exc.status}: it has a document once it is finalized")
        except PdfEngineUnavailable as exc:
            fail(f"no PDF can be made here: {exc.reason}")

    document = run_with_runtime(main)
    if output == "-":
        sys.stdout.buffer.write(document.content)
        sys.stdout.buffer.flush()
        return
    target = Path(output)
    try:
        target.write_bytes(document.content)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or type(exc).__name__}")
    if as_json:
        print_object({**document.to_json(), "path": str(target)}, True)
    else:
        typer.echo(
            f"wrote {target}: invoice {invoice_id}, {document.invoice_status}, {document.pages} page(s), "
            f"{document.size_bytes} bytes (version {document.version[:12]})"
        )


__all__ = ["app", "register"]
