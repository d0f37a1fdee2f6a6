"""hwtrial: randomised trials of psychotherapy-homework features.

``create_app`` builds the standalone service; :class:`HWTrial` mounts hwtrial into a host
Flask app. Nothing runs at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from .extension import HWTrial

__all__ = ["HWTrial", "create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the standalone hwtrial service.

    Configuration: defaults → ``<instance>/hwtrial.cfg`` → ``HWTRIAL_*`` environment →
    ``config``. The factory neither creates tables nor runs migrations.
    """
    from .config import load_config

    app = Flask(__name__, instance_relative_config=True)
    settings = load_config(app.instance_path, config)
    app.config.update(settings)
    app.config["SECRET_KEY"] = settings["HWTRIAL_SECRET_KEY"]
    app.config["SQLALCHEMY_DATABASE_URI"] = settings["HWTRIAL_DATABASE_URL"]
    app.config["MAX_CONTENT_LENGTH"] = settings["HWTRIAL_MAX_CONTENT_LENGTH"]
    app.config.setdefault("TESTING", settings["HWTRIAL_ENV"] == "testing")
    HWTrial(app)
    proxies = settings["HWTRIAL_PROXY_COUNT"]
    if proxies:
        # Behind N reverse proxies: the client address (throttling), scheme (Secure cookies,
        # HSTS) and host come from their X-Forwarded-* headers, trusted for N hops only.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    return app
