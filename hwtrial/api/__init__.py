"""The JSON API under ``<prefix>/api/v1``; the OpenAPI document is generated from the schemas."""

from __future__ import annotations

from flask_smorest import Api

#: (module, blueprint attribute, path below /api/v1) of every API blueprint.
BLUEPRINTS = [
    ("hwtrial.api.studies", "blp", "/studies"),
    ("hwtrial.api.users", "blp", ""),
    ("hwtrial.api.events", "blp", "/studies"),
    ("hwtrial.api.homework", "blp", "/studies"),
    ("hwtrial.api.participants", "blp", "/studies"),
    ("hwtrial.api.allocations", "blp", "/studies"),
    ("hwtrial.api.results", "blp", "/studies"),
    ("hwtrial.api.exports", "blp", "/studies"),
    ("hwtrial.api.report", "blp", "/studies"),
    ("hwtrial.api.reminders", "blp", "/studies"),
]


def register_api(api: Api, prefix: str) -> None:
    import importlib

    for module_name, attribute, path in BLUEPRINTS:
        module = importlib.import_module(module_name)
        api.register_blueprint(getattr(module, attribute), url_prefix=f"{prefix}/api/v1{path}")
