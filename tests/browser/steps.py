"""The staff console's steps as the browser tests take them (log in, open a page or a dialog,
fill labelled fields, pick options, send a form and read its answer), and the data the
tests make first through the public API (the office's admin): one place for each, so a
change of the console's forms is followed here once."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Locator, Page, expect

STAFF_PASSWORD = "Console-ops-2026!"
# What waits on the services (a gift booked, a refund, a send) on a loaded test machine.
SERVICE_WAIT = 20_000
# The labels of the event form's four moments, in the order `fill_event_times` fills them.
EVENT_TIMES = ("开始时间", "结束时间", "报名开始", "报名截止")


# ---- data, through the API ----------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def created(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def department(admin) -> dict:
    code = unique("D")
    return created(admin.post("/api/v1/departments", json={"name": f"测试系{code}", "code": code}))


def staff_account(admin, role: str, department_id: str | None = None) -> str:
    """A new staff account of `role` with STAFF_PASSWORD; its username."""
    username = unique(role + "_")
    body = {"username": username, "password": STAFF_PASSWORD, "role": role}
    if department_id:
        body["department_id"] = department_id
    created(admin.post("/api/v1/accounts", json=body))
    return username


def alumnus(admin, department_id: str, name: str, employer: str = "") -> dict:
    phone = "139" + "".join(random.choices("0123456789", k=8))
    body = {
        "name": name,
        "phone": phone,
        "employer": employer or unique("单位"),
        "city": "杭州",
        "graduations": [
            {
                "department_id": department_id,
                "major": "计算机科学",
                "degree": "bachelor",
                "class_year": 2012,
            }
        ],
    }
    return created(admin.post("/api/v1/alumni", json=body))


def gift(admin, donor: dict, fund: dict, amount_fen: int) -> dict:
    """A bank transfer from the alumnus `donor`, all to `fund`; as the API answered it."""
    return created(
        admin.post(
            "/api/v1/gifts",
            json={
                "donor": {"type": "alumnus", "alumnus_id": donor["id"]},
                "amount_fen": amount_fen,
                "allocations": [{"fund_id": fund["id"], "amount_fen": amount_fen}],
                "channel": "bank_transfer",
            },
            headers={"Idempotency-Key": unique("gift-")},
        )
    )


def published_event(admin, department_id: str) -> dict:
    now = datetime.now(UTC)
    event = created(
        admin.post(
            "/api/v1/events",
            json={
                "kind": "reunion",
                "title": unique("返校聚会"),
                "organiser_type": "department",
                "organiser_id": department_id,
                "venue": "图书馆报告厅",
                "starts_at": (now + timedelta(days=2)).isoformat(),
                "ends_at": (now + timedelta(days=2, hours=3)).isoformat(),
                "capacity": 30,
                "registration_opens_at": (now - timedelta(days=1)).isoformat(),
                "registration_closes_at": (now + timedelta(days=1)).isoformat(),
            },
        )
    )
    return created(admin.post(f"/api/v1/events/{event['id']}/publish"))


# ---- steps in the console -------------------------------------------------------------


def console_login(page: Page, path: str, username: str, password: str = STAFF_PASSWORD) -> None:
    """Open a console page, log in on the page it sends to, and land back on it."""
    page.goto(f"/console/#{path}")
    expect(page.get_by_role("heading", name="校友工作平台 · 工作台登录")).to_be_visible()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()


def open_page(page: Page, path: str, heading: str) -> None:
    """Go to a console page by its address and wait until it has loaded its data."""
    page.goto(f"/console/#{path}")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    page.wait_for_load_state("networkidle")


def open_menu(page: Page, item: str, heading: str | None = None) -> None:
    """Go to a console page from the menu (`heading`: its heading, the item's by default)
    and wait until it has loaded its data."""
    page.get_by_role("menuitem", name=item, exact=True).click()
    expect(page.get_by_role("heading", name=heading or item, exact=True)).to_be_visible()
    page.wait_for_load_state("networkidle")


def open_dialog(
    page: Page,
    button: str | re.Pattern,
    dialog: str | None = None,
    within: Locator | None = None,
) -> Locator:
    """Click the button named `button` (in `within`, else anywhere on the page); the dialog
    it opens, named `dialog` (by default the button's name, which is then a string)."""
    (within or page).get_by_role("button", name=button).click()
    return page.get_by_role("dialog", name=dialog or button)


def fill(within: Page | Locator, fields: dict[str, str], exact: bool = False) -> None:
    """Type each value into the field labelled by its key."""
    for label, value in fields.items():
        within.get_by_label(label, exact=exact).fill(value)


def fill_event_times(form: Locator, starts: datetime) -> None:
    """The event form's moments: it starts at `starts` and lasts two hours; sign-ups opened
    an hour ago and close the day before."""
    moments = (
        starts,
        starts + timedelta(hours=2),
        datetime.now() - timedelta(hours=1),
        starts - timedelta(days=1),
    )
    typed = (moment.strftime("%Y-%m-%dT%H:%M") for moment in moments)
    fill(form, dict(zip(EVENT_TIMES, typed, strict=True)))


def choose(page: Page, within: Page | Locator, label: str, option: str | re.Pattern) -> None:
    """Pick `option` in the Element Plus select labelled `label` (inside `within`), opened
    from the keyboard."""
    select = within.get_by_role("combobox", name=label, exact=True)
    select.focus()
    select.press("Enter")
    click_option(page, option)


def pick(page: Page, label: str, *options: str) -> None:
    """Choose `options` in the Element Plus select labelled `label` (opened from the keyboard:
    its placeholder covers the input), then close it."""
    select = page.get_by_role("combobox", name=label, exact=True)
    select.focus()
    select.press("Enter")
    for option in options:
        click_option(page, option, exact=True)
    page.keyboard.press("Escape")


def click_option(page: Page, option: str | re.Pattern, exact: bool = False) -> None:
    """Click `option` in the select menu that is opening, once it has come in. Clicked while
    the menu still zooms in, the click can land beside the option: under load in CI the menu
    then stayed open with nothing chosen (the option merely hovered, in the screenshots)."""
    item = page.get_by_role("option", name=option, exact=exact).first
    expect(item).to_be_visible()
    animations_done(page)
    item.click()


ANIMATIONS_ENDED = (
    "() => document.getAnimations().every(a => a.playState !== 'running'"
    " || a.effect?.getComputedTiming().iterations === Infinity)"
)


def animations_done(page: Page) -> None:
    """Wait for every finite animation to end. Two frames come first, because a Vue
    transition starts on the frame after its element is inserted."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_function(ANIMATIONS_ENDED)


def submit(dialog: Locator, button: str | re.Pattern) -> None:
    """Send the dialog's form with its button `button` and wait for the dialog to close; a
    refusal fails with the dialog's sentence."""
    dialog.get_by_role("button", name=button).click()
    try:
        expect(dialog).to_be_hidden(timeout=SERVICE_WAIT)
    except AssertionError:
        raise AssertionError(dialog.get_by_role("alert").all_inner_texts()) from None


def toast(page: Page, text: str) -> None:
    """The console's message (a toast) says `text`."""
    expect(page.get_by_role("status")).to_contain_text(text, timeout=SERVICE_WAIT)


def save(page: Page, button: str, said: str, within: Page | Locator | None = None) -> None:
    """Click `button` (in `within`, else anywhere on the page) and expect the toast `said`."""
    (within or page).get_by_role("button", name=button).click()
    toast(page, said)
