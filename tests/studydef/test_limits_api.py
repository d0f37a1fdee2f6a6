"""Hostile study uploads through the API: a clear 422 in the one error shape, never a 500."""

from __future__ import annotations

import pytest

from .test_limits import alias_bomb, deep_json_text, merge_bomb


@pytest.fixture
def coordinator(make_user, bearer):
    return bearer(make_user("coordinator")[1])


def _shape(answer) -> dict:
    body = answer.get_json()
    assert answer.status_code == 422, body
    assert set(body) >= {"code", "status", "message", "errors"} and body["code"] == 422
    return body["errors"]


@pytest.mark.parametrize("url", ["/api/v1/studies/", "/api/v1/studies/validate"])
def test_alias_bomb_upload_is_422(client, coordinator, url):
    errors = _shape(client.post(url, json={"yaml": alias_bomb()}, headers=coordinator))
    assert any("are not allowed in a study file" in m for m in errors["<yaml>"])


def test_merge_key_bomb_upload_is_422(client, coordinator):
    errors = _shape(client.post("/api/v1/studies/", json={"yaml": merge_bomb()},
                                headers=coordinator))
    assert any("not allowed" in m for m in errors["<yaml>"])


def test_deeply_nested_json_definition_is_422(client, coordinator):
    body = '{"definition": {"key": "x", "deep": ' + "[" * 10_000 + "]" * 10_000 + "}}"
    answer = client.post("/api/v1/studies/", data=body, headers=coordinator,
                         content_type="application/json")
    errors = _shape(answer)
    assert errors == {"<json>": ["nested too deeply to read"]}


def test_moderately_nested_json_definition_is_422(client, coordinator):
    # Deep enough to break the study limit, shallow enough for the JSON decoder.
    deep: list = []
    for _ in range(200):
        deep = [deep]
    answer = client.post("/api/v1/studies/validate", json={"definition": {"key": "x", "d": deep}},
                         headers=coordinator)
    assert _shape(answer) == {"<root>": ["nested more than 64 levels deep"]}


def test_deeply_nested_json_text_in_yaml_field_is_422(client, coordinator):
    errors = _shape(client.post("/api/v1/studies/validate", json={"yaml": deep_json_text(10_000)},
                                headers=coordinator))
    assert errors == {"<json>": ["nested more than 64 levels deep"]}
