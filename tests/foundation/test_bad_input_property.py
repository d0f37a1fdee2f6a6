"""Property: no string or id field of the API answers 500 to NUL, lone surrogates, huge or
deeply nested values, or ids beyond the ``integer`` columns (issue 9).

The fields come from the OpenAPI document, so a new schema field is covered without editing
this file. Each bad value is put into an otherwise valid body where there is one, so it can
reach the services and the database, not only the schema. Runs on every backend of ``client``.
"""

from __future__ import annotations

import copy
import json
import time
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ERROR_KEYS = {"code", "status", "message", "errors"}
STUDY = "reminder-rct"
DEEP = 10_000
EXAMPLES = 300

#: Valid bodies for the operations that need more than one field to reach a service.
BASELINES = {
    ("post", "/studies/{study_key}/participants"): {
        "external_id": "prop-1", "strata": {"site": "north", "severity": "mild"}, "timezone": "UTC",
        "consent": {"version": "2.1", "method": "web", "locale": "en"}},
    ("post", "/studies/{study_key}/events"): {"events": [
        {"id": "prop-e1", "participant": 1, "type": "field_changed",
         "client_time": "2026-03-01T09:00:00Z", "payload": {"field": "situation"}}]},
    ("post", "/users"): {"email": "prop@test.example", "role": "therapist"},
    ("patch", "/users/{user_id}"): {"active": True, "reason": "property test"},
    ("post", "/studies/{study_key}/participants/{participant_id}/withdraw"): {"reason": "x"},
    ("post", "/studies/{study_key}/participants/{participant_id}/homework"): {
        "template": "thought_record", "due_at": "2026-12-31T09:00:00Z"},
    ("post", "/studies/{study_key}/homework/{instance_id}/review"): {
        "reviewer_role": "therapist", "answers": {"reflection": "fine", "usefulness": 5}},
}
#: Fields inside list items the schema leaves to the service (events are checked in one pass).
EXTRA_TARGETS = {("post", "/studies/{study_key}/events"): [
    ("events", 0, "id"), ("events", 0, "participant"), ("events", 0, "instance"),
    ("events", 0, "type"), ("events", 0, "client_time"), ("events", 0, "payload"),
    ("events", 0, "payload", "field")]}


def _resolve(document, schema):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _targets(document, schema, path=()):
    """``(path, kind)`` of every string, integer, object and array field, nested ones too."""
    for name, prop in (_resolve(document, schema).get("properties") or {}).items():
        prop = _resolve(document, prop)
        kind = prop.get("type", "object")
        yield path + (name,), kind
        if kind == "object" and "properties" in prop:
            yield from _targets(document, prop, path + (name,))


def operations(document):
    """``(method, path template, body targets, query targets)`` of every API operation."""
    out = []
    for template, item in document["paths"].items():
        short = template.removeprefix("/api/v1")
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            schema = (operation.get("requestBody") or {}).get("content", {}).get(
                "application/json", {}).get("schema")
            body = list(_targets(document, schema)) if schema else []
            body += [(path, "any") for path in EXTRA_TARGETS.get((method, short), [])]
            query = [((p["name"],), p.get("schema", {}).get("type", "string"))
                     for p in operation.get("parameters", []) if p["in"] == "query"]
            out.append((method, short, body, query))
    return out


BAD_TEXT = st.one_of(
    st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=5), st.text(max_size=5)),
    st.builds(lambda a, s: a + s, st.text(max_size=5), st.sampled_from(["\ud800", "\udbff", "\udc00x"])),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "😀", " "]), st.integers(300, 300_000)),
)
BAD_ID = st.sampled_from([2**31, 2**31 + 7, 2**63, 10**30, -(2**31) - 1, 0, -1])
BAD_VALUE = st.one_of(BAD_TEXT, BAD_ID, st.just("<deep>"), st.just({"k": "\x00"}), st.just(["\ud800"]))


def _put(body, path, value):
    node = body
    for step in path[:-1]:
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and len(node) > step else node
            continue
        if not isinstance(node.get(step), (dict, list)):
            node[step] = {}
        node = node[step]
    if isinstance(node, dict):
        node[path[-1]] = value
    elif isinstance(node, list) and node:
        node[0] = value


def _encode(body) -> str:
    # ensure_ascii keeps lone surrogates as the \\udXXX escapes a hostile client would send.
    text = json.dumps(body)
    return text.replace('"<deep>"', "[" * DEEP + "]" * DEEP)


#: Status codes answered (printed with ``-s``: shows what the examples reached).
SEEN: dict[int, int] = {}


def _check(answer, what):
    SEEN[answer.status_code] = SEEN.get(answer.status_code, 0) + 1
    assert answer.status_code != 500 and answer.status_code < 500, (what, answer.get_data(as_text=True)[:300])
    if answer.status_code >= 400:
        assert set(answer.get_json()) == ERROR_KEYS, what


def _url(template, ids):
    url = template.replace("{study_key}", STUDY)
    for name, value in ids.items():
        url = url.replace("{" + name + "}", str(value))
    return "/api/v1" + url


def _world(app, client, load_study, make_user, bearer):
    load_study(STUDY)
    coordinator = bearer(make_user("coordinator")[1])
    admin_id, admin_token = make_user("admin")
    enrolled = client.post(f"/api/v1/studies/{STUDY}/participants", headers=coordinator,
                           json=BASELINES[("post", "/studies/{study_key}/participants")]).get_json()
    ids = {"participant_id": enrolled["id"], "user_id": admin_id, "instance_id": 1, "alert_id": 1,
           "token_id": 1, "request_id": 1, "message_id": 1}
    document = client.get("/api/v1/openapi.json").get_json()
    return coordinator, bearer(admin_token), ids, operations(document)


SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


def test_bad_values_in_any_field_are_4xx_never_500(app, client, load_study, make_user, bearer):
    coordinator, admin, ids, ops = _world(app, client, load_study, make_user, bearer)
    targets = [(op, target, "body") for op in ops for target in op[2]]
    targets += [(op, target, "query") for op in ops for target in op[3]]
    assert len(targets) > 40
    SEEN.clear()
    started = time.perf_counter()

    @SETTINGS
    @given(st.sampled_from(targets), BAD_VALUE)
    def run(target, value):
        (method, template, _body, _query), (path, _kind), where = target
        headers = admin if template.startswith(("/users", "/me")) else coordinator
        if where == "query":
            text = value if isinstance(value, str) else json.dumps(value)
            value = text[:20_000].encode("utf-8", "surrogatepass")
        answer, url = _send(client, headers, ids, method, template, path, where, value)
        _check(answer, (method, url, path, repr(value)[:60]))

    run()
    print(f"\nproperty test: {EXAMPLES} examples in {time.perf_counter() - started:.1f} s", sorted(SEEN.items()))


def _send(client, headers, ids, method, template, path, where, value):
    """``value`` at ``path`` of the operation's baseline body, or as the query parameter
    ``path[0]``; the answer and the URL it went to."""
    url = _url(template, ids)
    if where == "query":
        return client.open(f"{url}?{path[0]}={quote(value, safe='')}", method=method.upper(),
                           headers=headers), url
    body = copy.deepcopy(BASELINES.get((method, template), {}))
    _put(body, path, value)
    return client.open(url, method=method.upper(), data=_encode(body),
                       headers={**headers, "Content-Type": "application/json"}), url


def test_bad_ids_and_keys_in_any_url_are_4xx_never_500(app, client, load_study, make_user, bearer):
    coordinator, admin, ids, ops = _world(app, client, load_study, make_user, bearer)
    templates = sorted({(method, template) for method, template, _b, _q in ops if "{" in template})

    @SETTINGS
    @given(st.sampled_from(templates), st.one_of(BAD_ID.filter(lambda i: i >= 0).map(str),
                                                 st.sampled_from(["%00", "a%00b", "%ED%A0%80", "x" * 5000])))
    def run(target, value):
        method, template = target
        headers = admin if template.startswith(("/users", "/me")) else coordinator
        url = _url(template.replace("{study_key}", value if not value.isdigit() else STUDY),
                   {name: (value if value.isdigit() else ids[name]) for name in ids})
        _check(client.open(url, method=method.upper(), headers=headers, json={}), (method, url))

    run()


#: Times at and past the edges of Python's datetime range (and nonsense that looks like a time).
EDGE_TIMES = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999+00:00",
              "0001-01-01T00:00:00Z", "2026-13-45T99:99:99Z", "1e999"]


def _time_fields(document, schema, path=()):
    for name, prop in (_resolve(document, schema).get("properties") or {}).items():
        prop = _resolve(document, prop)
        if prop.get("format") == "date-time":
            yield path + (name,)
        if prop.get("type", "object") == "object" and "properties" in prop:
            yield from _time_fields(document, prop, path + (name,))


def test_edge_times_in_every_time_field_and_query_are_4xx_never_500(app, client, load_study, make_user,
                                                                     bearer):
    """Regression: ``GET …/participants?enrolled_after=9999-12-31T23:59:59-23:59`` answered 500
    (OverflowError converting to UTC): every date-time field of every operation, body or query."""
    coordinator, admin, ids, _ops = _world(app, client, load_study, make_user, bearer)
    document = client.get("/api/v1/openapi.json").get_json()
    targets = [("post", "/studies/{study_key}/events", ("events", 0, "client_time"), "body")]
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            short = template.removeprefix("/api/v1")
            targets += [(method, short, (p["name"],), "query") for p in operation.get("parameters", [])
                        if p["in"] == "query" and p.get("schema", {}).get("format") == "date-time"]
            schema = (operation.get("requestBody") or {}).get("content", {}).get(
                "application/json", {}).get("schema")
            targets += [(method, short, path, "body") for path in (_time_fields(document, schema) if schema else [])]
    assert ("get", "/studies/{study_key}/participants", ("enrolled_after",), "query") in targets
    for method, template, path, where in targets:
        headers = admin if template.startswith(("/users", "/me")) else coordinator
        for value in EDGE_TIMES:
            answer, url = _send(client, headers, ids, method, template, path, where, value)
            _check(answer, (method, url, path, value))
