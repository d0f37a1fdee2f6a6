"""API conventions: one JSON error shape, unknown fields rejected, size limit, OpenAPI document."""

from __future__ import annotations

import pytest

ERROR_KEYS = {"code", "status", "message", "errors"}


@pytest.fixture
def coordinator(make_user, bearer):
    _, token = make_user("coordinator")
    return bearer(token)


def test_openapi_document_is_generated_from_schemas(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/studies/" in doc["paths"]
    assert "DefinitionIn" in doc["components"]["schemas"]


def test_unknown_route_is_json_404(client):
    answer = client.get("/api/v1/no-such-thing")
    assert answer.status_code == 404
    assert set(answer.get_json()) == ERROR_KEYS


def test_wrong_method_is_json_405(client, coordinator):
    answer = client.delete("/api/v1/studies/", headers=coordinator)
    assert answer.status_code == 405 and set(answer.get_json()) == ERROR_KEYS


def test_missing_token_is_401(client):
    answer = client.get("/api/v1/studies/")
    assert answer.status_code == 401
    body = answer.get_json()
    assert set(body) == ERROR_KEYS and body["status"] == "Unauthorized"


@pytest.mark.parametrize("header", ["Bearer nonsense", "Basic abc", "Bearer"])
def test_bad_token_is_401(client, header):
    answer = client.get("/api/v1/studies/", headers={"Authorization": header})
    assert answer.status_code == 401 and set(answer.get_json()) == ERROR_KEYS


def test_unknown_fields_are_rejected_with_field_names(client, coordinator):
    answer = client.post("/api/v1/studies/validate", json={"yaml": "key: x", "colour": "red"},
                         headers=coordinator)
    assert answer.status_code == 422
    body = answer.get_json()
    assert set(body) == ERROR_KEYS
    assert body["errors"] == {"colour": ["Unknown field."]}


def test_malformed_json_is_400_json(client, coordinator):
    answer = client.post("/api/v1/studies/validate", data="{not json",
                         headers={**coordinator, "Content-Type": "application/json"})
    assert answer.status_code in (400, 422)
    assert set(answer.get_json()) == ERROR_KEYS


def test_request_size_is_limited(app, client, coordinator):
    app.config["HWTRIAL_MAX_CONTENT_LENGTH"] = 1000
    answer = client.post("/api/v1/studies/validate", json={"yaml": "x" * 5000}, headers=coordinator)
    assert answer.status_code == 413 and set(answer.get_json()) == ERROR_KEYS


def test_internal_errors_never_leak_a_stack_trace(app, client, coordinator, monkeypatch):
    from hwtrial.services import studies

    def explode(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(studies, "list_studies", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.testing = False
    answer = client.get("/api/v1/studies/", headers=coordinator)
    assert answer.status_code == 500
    body = answer.get_json()
    assert set(body) == ERROR_KEYS and "secret" not in answer.get_data(as_text=True)
