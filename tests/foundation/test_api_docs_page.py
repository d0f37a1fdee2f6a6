"""The interactive API page: served from the package (no CDN), no inline script."""

from __future__ import annotations

import re

from tests.conftest import make_app


def test_docs_page_loads_only_local_scripts(client):
    answer = client.get("/api/v1/docs")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    html = answer.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" for _attrs, body in scripts)  # no inline code
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs, _body in scripts]
    assert all(src.startswith("/") and not src.startswith("//") for src in sources)
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    for src in sources:
        asset = client.get(src)
        assert asset.status_code == 200 and "javascript" in asset.mimetype
        asset.close()


def test_docs_page_follows_the_url_prefix(database_url):
    client = make_app(database_url, HWTRIAL_URL_PREFIX="/trials").test_client()
    html = client.get("/trials/api/v1/docs").get_data(as_text=True)
    assert 'data-spec-url="/trials/api/v1/openapi.json"' in html
    assert "/trials/api/v1/docs/assets/swagger-ui-bundle.js" in html


def test_only_the_pages_own_assets_are_served(client):
    css = client.get("/api/v1/docs/assets/swagger-ui.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    css.close()
    for name in ("index.html", "swagger-ui-bundle.js.map", "../__init__.py"):
        answer = client.get(f"/api/v1/docs/assets/{name}")
        assert answer.status_code == 404 and answer.get_json()["code"] == 404
