"""The OpenAPI document declares every route remit serves, with a body for each answer and the one error
shape for every refusal (the fuzzing in tests/integration/test_openapi_fuzz.py holds the service to it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from remit.api.app import create_app
from remit.config import Settings
from remit.parts import build_runtime


@pytest.fixture
async def document(tmp_path: Path) -> dict[str, Any]:
    runtime = build_runtime(Settings.model_validate({"DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"}))
    try:
        return create_app(runtime).openapi()
    finally:
        await runtime.close()  # its ops-event recorder is the process's until then


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_every_route_family_is_in_the_document(document: dict[str, Any]) -> None:
    paths = set(document["paths"])
    for expected in ("/health", "/metrics", "/webhooks/stripe", "/api/v1/billing/customers", "/api/cron/{name}"):
        assert expected in paths
    assert "/api/v1/jobs/{job_id}/progress" in paths
    assert not any(path.startswith("/fake") for path in paths)  # the fake's face is not remit's API


def test_every_answer_declares_its_body(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        assert "422" not in op["responses"], (path, method)  # remit answers 400, in its error shape
        for status, response in op["responses"].items():
            content = response.get("content")
            assert content, f"{method.upper()} {path} {status} declares no body"
            for media in content.values():
                assert media.get("schema"), (path, method, status)


def test_every_refusal_is_the_error_shape(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        for status, response in op["responses"].items():
            if int(status) < 400 or path == "/health":  # /health answers its report when down
                continue
            if path == "/api/internal/provisioning/callback":  # the orchestrator contract's own shape (issue 12)
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, method, status)
    error = document["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"type", "code", "message"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_guarded_routes_declare_their_scheme(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        if path.startswith("/api/v1/"):
            assert op["security"] == [{"serviceToken": []}], (path, method)
            assert {"401", "429"} <= set(op["responses"]), (path, method)
        elif path.startswith("/api/cron/"):
            assert op["security"] == [{"cronSecret": []}]
        else:
            assert "security" not in op
