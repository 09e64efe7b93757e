"""``GET /metrics`` over the real app, on SQLite and PostgreSQL (``GET /health``: test_health_checks.py)."""

from __future__ import annotations

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, Gauge
from prometheus_client.parser import text_string_to_metric_families

from remit.api.app import create_app
from remit.runtime import Runtime
from remit.telemetry import collectors
from remit.telemetry.metrics import REGISTRY


def _client(runtime: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://remit")


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


async def test_metrics_exports_the_registry_with_request_timing_by_route_template(runtime: Runtime) -> None:
    app = create_app(runtime)

    @app.get("/probe/{thing_id}")
    async def probe(thing_id: str) -> dict[str, str]:
        return {"thing": thing_id}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://remit") as client:
        before = await client.get("/metrics")
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/probe/cus_secretive_id_991")).status_code == 200
        assert (await client.get("/no/such/path/evt_77")).status_code == 404
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    text = response.text
    assert "remit_jobs_executed_total" in text or "remit_ops_events_total" in text

    def count(route: str, status: str, source: str) -> float:
        return sum(
            value
            for labels, value in _samples(source, "remit_http_request_duration_seconds_count")
            if labels == {"method": "GET", "route": route, "status": status}
        )

    assert count("/health", "2xx", text) - count("/health", "2xx", before.text) == 1
    assert count("/probe/{thing_id}", "2xx", text) - count("/probe/{thing_id}", "2xx", before.text) == 1
    assert count("unmatched", "4xx", text) - count("unmatched", "4xx", before.text) == 1
    assert "cus_secretive_id_991" not in text
    assert "evt_77" not in text


async def test_collectors_refresh_gauges_and_a_failing_one_does_not_break_the_scrape(
    runtime: Runtime,
) -> None:
    gauge = Gauge("remit_test_scrape_hook_value", "test only", registry=REGISTRY)
    calls: list[Runtime] = []

    async def refresh(rt: Runtime) -> None:
        calls.append(rt)
        gauge.set(len(calls) * 10)

    async def broken(_rt: Runtime) -> None:
        raise RuntimeError("boom")

    remove_broken = collectors.add_collector(broken)
    remove_refresh = collectors.add_collector(refresh)
    try:
        async with _client(runtime) as client:
            response = await client.get("/metrics")
    finally:
        remove_broken()
        remove_refresh()
        REGISTRY.unregister(gauge)
    assert response.status_code == 200
    assert calls == [runtime]
    assert _samples(response.text, "remit_test_scrape_hook_value") == [({}, 10.0)]


async def test_the_job_gauges_are_collected_from_the_database_at_scrape_time(runtime: Runtime) -> None:
    """The scrape-time collector lives in telemetry (the API only serves it) and counts today's rows."""
    from tests.support.jobs import noop

    assert collectors.job_gauges in collectors.collectors()
    async with runtime.db.begin() as conn:
        for _ in range(3):
            await runtime.engine.enqueue(conn, noop, {}, queue="collector_probe")
    await collectors.collect(runtime)
    assert REGISTRY.get_sample_value("remit_queue_jobs", {"queue": "collector_probe", "state": "available"}) == 3


async def test_webhook_posts_are_timed_under_their_route_template(runtime: Runtime) -> None:
    def count(text: str) -> float:
        return sum(
            value
            for labels, value in _samples(text, "remit_http_request_duration_seconds_count")
            if labels == {"method": "POST", "route": runtime.settings.webhook_path, "status": "4xx"}
        )

    async with _client(runtime) as client:
        before = (await client.get("/metrics")).text
        refused = await client.post(runtime.settings.webhook_path, content=b"{}")  # unsigned: 400
        after = (await client.get("/metrics")).text
    assert refused.status_code == 400
    assert count(after) - count(before) == 1


async def test_docs_is_the_interactive_page_and_openapi_json_the_document(runtime: Runtime) -> None:
    async with _client(runtime) as client:
        page = await client.get("/docs")
        document = await client.get("/openapi.json")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in page.text  # the page draws itself from the document
    assert document.status_code == 200
    assert document.json()["openapi"].startswith("3.")
