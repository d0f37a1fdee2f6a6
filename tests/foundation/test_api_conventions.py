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
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


@pytest.fixture
def openapi(client):
    return client.get("/api/v1/openapi.json").get_json()


def test_openapi_declares_security_per_operation(openapi):
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["sessionCookie"]["in"] == "cookie"
    paths = openapi["paths"]
    assert paths["/api/v1/studies/"]["get"]["security"] == [{"bearerAuth": []}]
    # Participant pages post their events with the session cookie.
    assert paths["/api/v1/studies/{study_key}/events"]["post"]["security"] == [
        {"bearerAuth": []}, {"sessionCookie": []}]


def test_every_request_body_has_examples_the_schema_accepts(openapi):
    """A newcomer reads the body to send in the document (and the docs page's "Try it out"):
    every JSON request body has examples, and each loads through its input schema."""
    import importlib

    import marshmallow as ma

    from hwtrial.api.examples import EXAMPLES
    from hwtrial.api.participants import ENROL_EXAMPLES

    bodies = [(path, method, op["requestBody"]["content"]["application/json"])
              for path, ops in openapi["paths"].items() for method, op in ops.items()
              if isinstance(op, dict) and "requestBody" in op]
    assert len(bodies) >= 16
    assert [(path, method) for path, method, body in bodies if not body.get("examples")] == []
    modules = [importlib.import_module(f"hwtrial.api.{name}") for name in
               ("studies", "users", "events", "homework", "participants", "allocations")]
    for name, examples in [*EXAMPLES.items(), ("EnrolInSchema", ENROL_EXAMPLES)]:
        schema = next(getattr(m, name) for m in modules if hasattr(m, name))()
        for key, example in examples.items():
            try:
                schema.load(example["value"])
            except ma.ValidationError as error:  # pragma: no cover - the failure message
                raise AssertionError(f"{name} example {key!r}: {error.messages}") from None


def test_openapi_lists_error_codes_and_no_blanket_default(openapi):
    operations = [op for ops in openapi["paths"].values() for op in ops.values() if "responses" in op]
    assert operations and not [op for op in operations if "default" in op["responses"]]
    enrol = openapi["paths"]["/api/v1/studies/{study_key}/participants"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "422"} <= set(enrol)
    conflict = enrol["409"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "existing" in openapi["components"]["schemas"][conflict]["properties"]
    listing = openapi["paths"]["/api/v1/studies/{study_key}/participants"]["get"]["responses"]
    assert "413" not in listing and {"401", "403", "404"} <= set(listing)


def test_openapi_states_what_the_server_refuses(openapi):
    schemas = openapi["components"]["schemas"]
    assert schemas["DefinitionIn"]["oneOf"] == [{"required": ["definition"]}, {"required": ["yaml"]}]
    for name in ("UnblindReasonIn", "WithdrawalIn", "StudyUnblindingIn"):
        assert schemas[name]["properties"]["reason"]["minLength"] == 1
    assert "#/components/schemas/EnrolConsentIn" in str(schemas["EnrolIn"]["properties"]["consent"])
    body = openapi["paths"]["/api/v1/studies/{study_key}/participants"]["post"]["requestBody"]
    assert body["content"]["application/json"]["examples"]["minimal"]["value"]["consent"] == {
        "version": "2.1"}


def test_openapi_documents_features_and_results_answers(openapi):
    paths = openapi["paths"]
    for path in ("/api/v1/studies/{study_key}/participants/{participant_id}/features",
                 "/api/v1/studies/{study_key}/results"):
        assert "schema" in paths[path]["get"]["responses"]["200"]["content"]["application/json"]


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
