"""The portal's API client (web/src/shared/api.js) in a browser: an expired access token is
renewed without the user noticing, a session that cannot be renewed sends the user to log
in and back where they were, and the API's failures read as sentences, never as JSON."""

from __future__ import annotations

import time

import jwt
import requests
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import assert_accessible
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME, JWT_SECRET

SESSION_KEY = "alumni.session"


def log_in_on_the_site(page: Page, next_path: str = "/me") -> None:
    page.goto(f"/#/login?next={next_path}")
    page.get_by_label("用户名").fill(ADMIN_USERNAME)
    page.get_by_label("密码").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="我的")).to_be_visible()
    expect(page.get_by_text(ADMIN_USERNAME, exact=True)).to_be_visible()


def stored_session(page: Page) -> dict:
    return page.evaluate(f"() => JSON.parse(localStorage.getItem('{SESSION_KEY}'))")


def store_session(page: Page, tokens: dict) -> None:
    page.evaluate(
        "([key, tokens]) => localStorage.setItem(key, JSON.stringify(tokens))",
        [SESSION_KEY, tokens],
    )


def expired(access_token: str) -> str:
    """The same access token, signed as the gateway signs it, but expired a minute ago."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    now = int(time.time())
    claims.update(iat=now - 600, exp=now - 60)
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def api_paths(page: Page) -> list[str]:
    paths: list[str] = []
    page.on("request", lambda request: paths.append(request.url.split("/", 3)[3]))
    return paths


def test_an_expired_access_token_is_renewed_without_the_user_noticing(phone):
    log_in_on_the_site(phone)
    tokens = stored_session(phone)
    store_session(phone, {**tokens, "access_token": expired(tokens["access_token"])})
    requested = api_paths(phone)

    phone.reload()

    expect(phone.get_by_text(ADMIN_USERNAME, exact=True)).to_be_visible()
    expect(phone.get_by_role("alert")).to_have_count(0)
    assert phone.url.endswith("/#/me")
    assert requested.count("api/v1/auth/refresh") == 1
    assert requested.count("api/v1/me") == 2  # refused once, then answered
    renewed = stored_session(phone)
    assert renewed["access_token"] != tokens["access_token"]
    assert renewed["refresh_token"] != tokens["refresh_token"]


def test_two_tabs_renewing_at_once_share_one_refresh(phone):
    """A refresh token works once and one presented twice ends the session: two tabs whose
    access token expired together must not both present it."""
    log_in_on_the_site(phone)
    tokens = stored_session(phone)
    store_session(phone, {**tokens, "access_token": expired(tokens["access_token"])})
    refreshes: list[str] = []
    phone.context.on(
        "request",
        lambda request: refreshes.append(request.url) if "/auth/refresh" in request.url else None,
    )
    held: list[Route] = []
    phone.route("**/api/v1/auth/refresh", lambda route: held.append(route))

    phone.reload()  # the first tab's refresh is on its way (held here)
    for _ in range(50):
        if held:
            break
        phone.wait_for_timeout(100)
    assert len(held) == 1
    other_tab = phone.context.new_page()
    other_tab.goto("/#/me")  # its access token is as expired; it waits for the first tab
    other_tab.wait_for_timeout(1000)
    held[0].continue_()

    for tab in (phone, other_tab):
        expect(tab.get_by_text(ADMIN_USERNAME, exact=True)).to_be_visible()
        expect(tab.get_by_role("alert")).to_have_count(0)
    assert len(refreshes) == 1, refreshes


def test_a_tab_whose_copy_of_the_session_lags_does_not_present_a_spent_refresh_token(phone):
    """A tab reads its own copy of localStorage, which another tab's renewal reaches a moment
    later: it may be granted the refresh lock still holding the refresh token the other tab
    spent. Played here by putting the spent session back into the page's localStorage."""
    log_in_on_the_site(phone)
    spent = stored_session(phone)
    store_session(phone, {**spent, "access_token": expired(spent["access_token"])})
    refreshes = api_paths(phone)
    phone.reload()  # renewed: the refresh token of `spent` is used up
    expect(phone.get_by_text(ADMIN_USERNAME, exact=True)).to_be_visible()
    renewed = stored_session(phone)
    assert renewed["refresh_token"] != spent["refresh_token"]

    store_session(phone, {**spent, "access_token": expired(spent["access_token"])})
    phone.reload()

    expect(phone.get_by_text(ADMIN_USERNAME, exact=True)).to_be_visible()
    expect(phone.get_by_role("alert")).to_have_count(0)
    assert refreshes.count("api/v1/auth/refresh") == 1
    assert stored_session(phone) == renewed


def test_a_session_that_cannot_be_renewed_sends_the_user_to_log_in_and_back(portal, phone):
    log_in_on_the_site(phone)
    tokens = stored_session(phone)
    # The session's refresh token is spent elsewhere (another tab), and the access token has
    # expired: the page's refresh is refused.
    spent = requests.post(
        portal.base_url + "/api/v1/auth/refresh",
        json={"refresh_token": tokens["refresh_token"]},
        timeout=10,
    )
    assert spent.status_code == 200
    store_session(phone, {**tokens, "access_token": expired(tokens["access_token"])})

    phone.reload()

    expect(phone.get_by_role("heading", name="校友登录")).to_be_visible()
    assert phone.url.endswith("/#/login?next=/me")
    assert stored_session(phone) is None
    phone.get_by_label("用户名").fill(ADMIN_USERNAME)
    phone.get_by_label("密码").fill(ADMIN_PASSWORD)
    phone.get_by_role("button", name="登录").click()
    expect(phone.get_by_role("heading", name="我的")).to_be_visible()
    expect(phone.get_by_text(ADMIN_USERNAME, exact=True)).to_be_visible()
    assert phone.url.endswith("/#/me")


def readable(text: str) -> bool:
    return not any(mark in text for mark in ("{", "}", '"error"', "<", "undefined", "[object"))


def test_the_apis_refusal_reads_as_a_sentence(phone):
    phone.goto("/#/login")
    phone.get_by_label("用户名").fill(ADMIN_USERNAME)
    phone.get_by_label("密码").fill("not-the-password")
    phone.get_by_role("button", name="登录").click()
    alert = phone.get_by_role("alert")
    expect(alert).to_be_visible()
    text = alert.inner_text().strip()
    assert readable(text) and text, text
    assert any("\u4e00" <= char <= "\u9fff" for char in text), text
    assert_accessible(phone, "site-login-refused")


def test_a_proxys_error_page_or_no_network_reads_as_a_sentence(phone):
    log_in_on_the_site(phone)

    def proxy_error_page(route: Route) -> None:
        route.fulfill(
            status=502,
            content_type="text/html",
            body='<html><body><h1>502 Bad Gateway</h1>{"error": "upstream"}</body></html>',
        )

    phone.route("**/api/v1/me", proxy_error_page)
    phone.reload()
    alert = phone.get_by_role("alert")
    expect(alert).to_have_text("请求失败（502）。")

    phone.unroute("**/api/v1/me")
    phone.route("**/api/v1/me", lambda route: route.abort("internetdisconnected"))
    phone.reload()
    expect(alert).to_have_text("无法连接服务器，请检查网络后重试。")
    assert readable(alert.inner_text())
