"""The portal's files as the gateway serves them (gateway/portal.py), on a web/dist made by
the test: pages revalidated, hashed assets cached for good, nothing outside web/dist/assets,
a readable 503 before the first build, and the portal's own security policy on its pages."""

from __future__ import annotations

import json

import pytest

from gateway import edge
from gateway.portal import IMMUTABLE, portal_asset, portal_page


@pytest.fixture
def dist(tmp_path, monkeypatch):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "console").mkdir()
    (dist / "index.html").write_text('<html lang="zh-CN"><title>校友网</title></html>')
    (dist / "console" / "index.html").write_text("<html><title>工作台</title></html>")
    (dist / "assets" / "site-3f2a1b.js").write_text("console.log('校友')")
    (dist / "assets" / "site-3f2a1b.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("not a portal file")
    monkeypatch.setenv("PORTAL_DIST_DIR", str(dist))
    return dist


@pytest.mark.parametrize(("which", "title"), [("site", "校友网"), ("console", "工作台")])
def test_pages_are_revalidated_on_every_load(dist, which, title):
    response = portal_page(which)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.mimetype == "text/html"
    assert title in response.get_data(as_text=True)


def test_hashed_assets_are_cached_for_good_with_their_type(dist):
    script = portal_asset("site-3f2a1b.js")
    assert script.status_code == 200
    assert script.headers["Cache-Control"] == IMMUTABLE
    assert "immutable" in IMMUTABLE and "max-age=31536000" in IMMUTABLE
    assert script.content_type == "text/javascript; charset=utf-8" or script.content_type == (
        "application/javascript; charset=utf-8"
    )
    assert portal_asset("site-3f2a1b.css").content_type == "text/css; charset=utf-8"


@pytest.mark.parametrize(
    "name", ["../secret.txt", "../../secret.txt", "..%2Fsecret.txt", "/etc/passwd", "nothing.js"]
)
def test_nothing_outside_the_assets_folder_is_served(dist, name):
    response = portal_asset(name)
    assert response.status_code == 404
    assert "not a portal file" not in response.get_data(as_text=True)
    assert "no-cache" not in response.headers.get("Cache-Control", "")


def test_a_page_not_yet_built_answers_503_in_chinese(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_DIST_DIR", str(tmp_path / "never-built"))
    response = portal_page("site")
    assert response.status_code == 503
    body = json.loads(response.get_data(as_text=True))
    assert "make run" in json.dumps(body, ensure_ascii=False)
    assert "门户页面尚未构建" in json.dumps(body, ensure_ascii=False)


@pytest.mark.parametrize("path", ["/", "/console/"])
def test_portal_pages_carry_the_portal_policy(dist, path):
    response = portal_page("site" if path == "/" else "console")
    edge.harden(response, path, allowed_origin=None)
    policy = response.headers["Content-Security-Policy"]
    assert policy == edge.PORTAL_CSP
    # Scripts only from the gateway itself: nothing from a CDN, no inline script.
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    # The page's own revalidation is kept, not replaced by the API's no-store.
    assert response.headers["Cache-Control"] == "no-cache"


def test_assets_and_html_elsewhere_do_not_get_the_portal_policy(dist):
    asset = portal_asset("site-3f2a1b.js")
    edge.harden(asset, "/assets/site-3f2a1b.js", allowed_origin=None)
    assert asset.headers["Content-Security-Policy"] == edge.API_CSP
    assert asset.headers["Cache-Control"] == IMMUTABLE
    elsewhere = portal_page("console")
    edge.harden(elsewhere, "/somewhere-else", allowed_origin=None)
    assert elsewhere.headers["Content-Security-Policy"] == edge.PAGE_CSP
