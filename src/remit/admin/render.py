"""Rendering the admin's pages: one Jinja2 environment (autoescaped), and the headers every page carries.

Pages may show customer data to a logged-in admin, so none is cached (``no-store``), none may be framed
(``frame-ancestors 'none'``), scripts are not allowed (every action is a plain form) except this site's own
``progress.js`` on a job's page, whose live bar reads the job's event stream (:data:`SCRIPT_HEADERS`), and no
referrer leaves the site (``same-origin``: with ``no-referrer`` browsers send ``Origin: null``, which the origin
check refuses).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jinja2
from starlette.responses import HTMLResponse

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make the browser send `Origin: null` on forms
}
#: The headers of the one page with a script (a job's live progress bar): this site's own script file and its
#: event stream, still nothing inline and nothing from elsewhere.
SCRIPT_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"] + "; script-src 'self'; connect-src 'self'",
}


#: What the base template reads on every page, for pages shown to nobody logged in.
PAGE_DEFAULTS: dict[str, Any] = {"admin": None, "notice": None, "csrf": "", "prefix": "/admin"}


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """``when`` as a short age (``42s``, ``3m``, ``5h``, ``2d``); ``—`` when unknown (pure)."""
    if when is None:
        return "—"
    now = now or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return seconds(max(0.0, (now - when).total_seconds()))


def seconds(value: float) -> str:
    """A duration in seconds as ``42s``, ``3m``, ``5h`` or ``2d`` (pure)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size:
            return f"{int(value // size)}{unit}"
    return f"{int(value)}s"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("remit.admin", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ago"] = ago
    env.filters["seconds"] = seconds
    return env


def page(
    template: str, context: dict[str, Any], *, status_code: int = 200, headers: Mapping[str, str] = SECURITY_HEADERS
) -> HTMLResponse:
    """``template`` rendered with ``context`` as an HTML response with :data:`SECURITY_HEADERS` (or ``headers``)."""
    html = environment().get_template(template).render(**{**PAGE_DEFAULTS, **context})
    return HTMLResponse(html, status_code=status_code, headers=dict(headers))


__all__ = ["SCRIPT_HEADERS", "SECURITY_HEADERS", "ago", "environment", "page", "seconds"]
