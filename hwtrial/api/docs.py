"""The interactive API page: Swagger UI from the ``swagger-ui-bundle`` package, served by us.

No CDN and no inline script: the page loads Swagger UI's files from this blueprint and its
initializer from hwtrial's static folder, so a ``script-src 'self'`` policy allows it all.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, render_template, send_from_directory

blp = Blueprint("hwtrial_apidocs", __name__)

#: The files the page loads (the bundle ships more, e.g. source maps; only these are served).
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png",
                    "favicon-16x16.png"})


@blp.get("")
def page():
    return render_template("hwtrial/apidocs.html")


@blp.get("/assets/<path:filename>")
def asset(filename):
    from swagger_ui_bundle import swagger_ui_path

    if filename not in ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)


def register_docs(app: Flask, prefix: str) -> None:
    app.register_blueprint(blp, url_prefix=f"{prefix}/api/v1/docs")
