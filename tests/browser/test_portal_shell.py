"""The portal's two pages load from the gateway, log a user in and out, and pass axe."""

from __future__ import annotations

import requests
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME


def test_pages_are_served_with_caching_and_security_headers(portal):
    page = requests.get(portal.base_url + "/", timeout=10)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    asset = next(part for part in page.text.split('"') if part.startswith("/assets/"))
    answer = requests.get(portal.base_url + asset, timeout=10)
    assert answer.status_code == 200
    assert "immutable" in answer.headers["Cache-Control"]
    console = requests.get(portal.base_url + "/console/", timeout=10)
    assert console.status_code == 200 and 'lang="zh-CN"' in console.text


def test_console_login_sends_the_user_back_where_they_were(desktop):
    desktop.goto("/console/#/")
    expect(desktop.get_by_role("heading", name="校友工作平台 · 工作台登录")).to_be_visible()
    assert_accessible(desktop, "console-login")
    desktop.get_by_label("用户名").fill(ADMIN_USERNAME)
    desktop.get_by_label("密码", exact=True).fill("wrong-password")
    desktop.get_by_role("button", name="登录").click()
    expect(desktop.get_by_role("alert")).to_be_visible()
    assert "{" not in desktop.get_by_role("alert").inner_text()
    desktop.get_by_label("密码", exact=True).fill(ADMIN_PASSWORD)
    desktop.get_by_role("button", name="登录").click()
    expect(desktop.get_by_role("heading", name="概览")).to_be_visible()
    assert_accessible(desktop, "console-home")


def test_alumni_site_login_on_a_phone(phone):
    phone.goto("/#/me")
    expect(phone.get_by_role("heading", name="校友登录")).to_be_visible()
    assert_accessible(phone, "site-login")
    phone.get_by_label("用户名").fill(ADMIN_USERNAME)
    phone.get_by_label("密码").fill(ADMIN_PASSWORD)
    phone.get_by_role("button", name="登录").click()
    expect(phone.get_by_role("heading", name="我的")).to_be_visible()
    expect(phone.get_by_text(ADMIN_USERNAME, exact=True)).to_be_visible()
