"""What the docs say happens is what the code does: the dispatch backoff, and what /docs and /openapi.json are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from remit.webhooks.dispatch import DISPATCH_BACKOFF

ROOT = Path(__file__).resolve().parents[2]
BACKOFF = re.compile(r"Backoff\(base=([\d.]+), factor=([\d.]+), cap=([\d.]+), jitter=([\d.]+)\)")


@pytest.mark.parametrize("page", ["docs/jobs.md", "docs/webhooks.md"])
def test_the_documented_dispatch_backoff_is_the_one_dispatch_uses(page: str) -> None:
    text = (ROOT / page).read_text()
    dispatch = [m for m in BACKOFF.finditer(text) if "dispatch" in text[max(0, m.start() - 800) : m.start()]]
    assert dispatch, f"{page} states the dispatch backoff"
    for found in dispatch:
        base, factor, cap, jitter = (float(value) for value in found.groups())
        assert (base, factor, cap, jitter) == (
            DISPATCH_BACKOFF.base,
            DISPATCH_BACKOFF.factor,
            DISPATCH_BACKOFF.cap,
            DISPATCH_BACKOFF.jitter,
        )
    first = DISPATCH_BACKOFF.delay(1, rand=0.5)
    assert f"{first:g} s, {2 * first:g} s" in text
    assert f"capped at {DISPATCH_BACKOFF.cap / 3600:g} h, ±{DISPATCH_BACKOFF.jitter:.0%}".replace("%", " %") in text


def test_the_readme_says_docs_is_the_interactive_page_and_openapi_json_the_document() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "`GET /docs` — the interactive API documentation" in readme
    assert "`GET /openapi.json` — the OpenAPI document" in readme
    assert "`GET /docs` — the OpenAPI document" not in readme


def test_the_documented_processor_fault_rules_are_the_ones_the_code_applies() -> None:
    from remit.config import DEFAULT_PROCESSOR_QUEUES
    from remit.processor import faults

    text = (ROOT / "docs/jobs.md").read_text().split("## Processor faults", 1)[1].split("\n## ", 1)[0]
    throttle = (
        f"for `Retry-After`, else {faults.THROTTLE_DEFAULT_S:g} s, held within [{faults.THROTTLE_FLOOR_S:g} s, "
        f"{faults.THROTTLE_CAP_S / 60:g} min], plus up to {faults.THROTTLE_JITTER:.0%}".replace("%", " %")
    )
    assert throttle in text
    assert f"| 401, 403 | snoozes {faults.CREDENTIALS_EXPIRED_SNOOZE_S:g} s (no attempt spent)" in text
    listed = re.search(r"`REMIT_PROCESSOR_QUEUES` \(default ((?:`\w+`,?\s*)+)\)", text)
    assert listed is not None
    assert re.findall(r"`(\w+)`", listed.group(1)) == DEFAULT_PROCESSOR_QUEUES.split(",")


def test_the_readmes_one_error_shape_names_the_provisioning_callbacks_own() -> None:
    """The callback answers its orchestrator ``{"error": "…"}`` (its contract); the README said every error had
    the API's one shape, and a newcomer's ``curl`` to it showed otherwise."""
    import json

    from remit.api.provisioning import _error

    body = json.loads(_error(503, "provisioning callback secret is not configured").body)
    readme = " ".join((ROOT / "README.md").read_text().split())
    if isinstance(body["error"], str):
        assert 'the provisioning callback, which answers its orchestrator `{"error": "…"}`' in readme


def test_the_documents_page_says_how_to_get_a_document_and_each_answer_of_the_route() -> None:
    """docs/documents.md is where the PDF route and command are explained; a rewrite of the page around them once
    dropped the section, leaving the route's answers documented nowhere."""
    from remit.api.billing import router

    text = (ROOT / "docs/documents.md").read_text()
    section = text.split("## Getting a document", 1)[-1].split("\n## ", 1)[0] if "## Getting a document" in text else ""
    [path] = [str(getattr(r, "path", "")) for r in router.routes if str(getattr(r, "path", "")).endswith("/pdf")]
    assert f"GET {path.replace('{invoice_id}', '{id}')} " in section
    assert "remit invoices pdf ID" in section
    for status, code in ((404, "resource_missing"), (409, "invoice_not_finalized"), (503, "pdf_unavailable")):
        assert f"| {status} `{code}`" in section
