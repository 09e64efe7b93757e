"""The admin page: ``/admin``, server-rendered with Jinja2, behind an admin login (docs/admin.md).

:func:`mount` adds its routes to the service's app; the pages are in :mod:`remit.admin.pages` and
:mod:`remit.admin.provisioning_pages` and :mod:`remit.admin.customer_pages`.
"""

from __future__ import annotations

from fastapi import FastAPI

from remit.admin import customer_pages, provisioning_pages
from remit.admin.pages import PREFIX, router


def mount(app: FastAPI) -> None:
    """Serve the admin page on ``app`` (off, with a page that says how to turn it on, until configured)."""
    app.include_router(router)
    app.include_router(provisioning_pages.router)
    app.include_router(customer_pages.router)


__all__ = ["PREFIX", "mount"]
