"""What the app exposes by environment: interactive docs and the OpenAPI document, the fake's HTTP face.

In-memory ASGI requests only; none of these routes reaches the database (the runtime never connects).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from remit.api.app import create_app
from remit.cli.service import api_docs_hint
from remit.config import Settings
from remit.parts import build_runtime
from remit.service import Endpoints

STRONG_TOKEN = "9f1c2a7be4d08356aa1ec2f9b7d3e6045c8b1f2e"
DOC_PATHS = ("/docs", "/redoc", "/openapi.json")

Client = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app_client(tmp_path: Path) -> Client:
    @asynccontextmanager
    async def open_client(**environ: str) -> AsyncIterator[httpx.AsyncClient]:
        values = {"DATABASE_URL": f"sqlite:///{tmp_path / 'never-opened.db'}", **environ}
        runtime = build_runtime(Settings.model_validate(values))
        try:
            transport = httpx.ASGITransport(app=create_app(runtime))
            async with httpx.AsyncClient(transport=transport, base_url="http://remit") as client:
                yield client
        finally:
            await runtime.close()

    return open_client


PRODUCTION = {
    "REMIT_ENV": "production",
    "REMIT_PROCESSOR": "stripe",
    "STRIPE_API_KEY": "sk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_live",
    "REMIT_SERVICE_TOKENS": STRONG_TOKEN,
}


async def test_development_serves_the_interactive_docs_and_the_document(app_client: Client) -> None:
    async with app_client(REMIT_ENV="development") as client:
        for path in DOC_PATHS:
            assert (await client.get(path)).status_code == 200, path
        assert "/webhooks/stripe" in (await client.get("/openapi.json")).json()["paths"]


async def test_production_serves_no_docs_and_no_document(app_client: Client) -> None:
    async with app_client(**PRODUCTION) as client:
        for path in DOC_PATHS:
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "route_not_found"
        assert (await client.get("/health/live")).status_code == 404  # the 404 is the same for any unknown path


async def test_production_serves_the_document_when_enabled_but_never_the_interactive_docs(app_client: Client) -> None:
    async with app_client(**PRODUCTION, REMIT_API_DOCS="on") as client:
        assert (await client.get("/openapi.json")).status_code == 200
        for path in ("/docs", "/redoc"):
            assert (await client.get(path)).status_code == 404, path


async def test_the_live_processor_never_gets_the_interactive_docs(app_client: Client) -> None:
    live = {**PRODUCTION, "REMIT_ENV": "development"}
    async with app_client(**live, REMIT_API_DOCS="on") as client:
        assert (await client.get("/openapi.json")).status_code == 200
        for path in ("/docs", "/redoc"):
            assert (await client.get(path)).status_code == 404, path


async def test_docs_can_be_switched_off_in_development(app_client: Client) -> None:
    async with app_client(REMIT_API_DOCS="off") as client:
        for path in DOC_PATHS:
            assert (await client.get(path)).status_code == 404, path


async def test_the_fake_api_is_served_for_the_fake_processor_outside_production(app_client: Client) -> None:
    async with app_client(REMIT_ENV="development") as client:
        response = await client.post("/fake/v1/customers")
    assert response.status_code == 401  # mounted: the fake asks for an API key, as Stripe does


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({"REMIT_ENV": "production", "REMIT_PROCESSOR": "fake"}, id="fake-in-production"),
        pytest.param({**PRODUCTION, "REMIT_ENV": "development"}, id="stripe-in-development"),
        pytest.param(PRODUCTION, id="stripe-in-production"),
    ],
)
async def test_the_fake_api_is_not_mounted_otherwise(app_client: Client, environ: dict[str, str]) -> None:
    """Settings built past load_settings (which refuses the fake in production) still never mount it there."""
    async with app_client(**environ) as client:
        for method in ("GET", "POST"):
            response = await client.request(method, "/fake/v1/customers", headers={"Authorization": "Bearer sk_x"})
            assert response.status_code == 404


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({}, "http://remit/docs (the document: http://remit/openapi.json)"),
        ({"REMIT_PROCESSOR": "stripe", "STRIPE_API_KEY": "sk_test_x"}, "http://remit/openapi.json (the document only"),
        ({"REMIT_API_DOCS": "off"}, "off (REMIT_API_DOCS=on"),
    ],
)
def test_the_banner_names_only_the_docs_this_configuration_serves(
    tmp_path: Path, environ: dict[str, str], says: str
) -> None:
    settings = Settings.model_validate({"DATABASE_URL": f"sqlite:///{tmp_path / 'never-opened.db'}", **environ})
    assert api_docs_hint(settings, Endpoints("http://remit")).startswith(says)
