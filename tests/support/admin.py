"""Helpers for the admin page's tests: a known password and its hash, a browser-like client, logging in, reading a
form's token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

import httpx

from remit.admin.passwords import hash_password
from remit.api.app import create_app
from remit.api.webhooks import close_writer
from remit.runtime import Runtime

PASSWORD = "correct horse battery staple"
USER = "admin"
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


@cache
def password_hash() -> str:
    """The argon2 hash of :data:`PASSWORD` (made once per test process: hashing is slow on purpose)."""
    return hash_password(PASSWORD)


@asynccontextmanager
async def browser(runtime: Runtime, **headers: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the app over https (the session cookie is ``Secure``), keeping cookies like a browser."""
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="https://remit.test", headers=headers) as client:
            yield client
    finally:
        await close_writer(app)


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF_PATTERN.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def login(client: httpx.AsyncClient, *, user: str = USER, password: str = PASSWORD) -> httpx.Response:
    """Open the login form and send it (redirects not followed)."""
    form = await client.get("/admin/login")
    assert form.status_code == 200, form.text
    return await client.post(
        "/admin/login", data={"csrf_token": csrf_of(form.text), "user": user, "password": password}
    )


async def page_token(client: httpx.AsyncClient, path: str = "/admin") -> str:
    """The session's CSRF token, read from a page's form as a browser would."""
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)
