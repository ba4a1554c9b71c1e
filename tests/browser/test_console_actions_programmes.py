"""The Alumni Lecture Hall from the console: a lecture put in its series from the event form
(the series named on the event's page and by the API), and series deleted from the series
page: an empty one goes, one holding a lecture is refused with the API's sentence."""

from __future__ import annotations

from datetime import datetime, timedelta

from playwright.sync_api import expect

from tests.browser.conftest import checked
from tests.browser.steps import (
    SERVICE_WAIT,
    choose,
    console_login,
    created,
    fill,
    fill_event_times,
    open_dialog,
    open_menu,
    submit,
    unique,
)
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME


def test_office_puts_a_lecture_in_a_series_and_deletes_only_an_empty_series(portal, desktop):
    admin = portal.admin()
    hall = created(admin.post("/api/v1/series", json={"title": unique("前沿讲堂")}))
    empty = created(admin.post("/api/v1/series", json={"title": unique("停办讲堂")}))
    title = unique("人工智能讲座")

    console_login(desktop, "/events", ADMIN_USERNAME, ADMIN_PASSWORD)
    form = open_dialog(desktop, "新建活动")
    # A reunion has no series to choose; a lecture offers them.
    expect(form.get_by_role("combobox", name="讲座系列")).to_have_count(0)
    choose(desktop, form, "活动类型", "校友大讲堂")
    choose(desktop, form, "讲座系列", hall["title"])
    fill(form, {"标题": title, "地点": "图书馆报告厅"})
    fill_event_times(form, datetime.now() + timedelta(days=10))
    checked(desktop, "console-actions-lecture-in-series")
    submit(form, "保存为草稿")

    in_series = created(admin.get("/api/v1/events", params={"series_id": hall["id"]}))["items"]
    assert [(event["title"], event["kind"]) for event in in_series] == [(title, "lecture")]
    drawer = open_dialog(desktop, title)
    expect(drawer).to_contain_text(f"校友大讲堂（系列：{hall['title']}）", timeout=SERVICE_WAIT)
    desktop.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    # The series page: the empty series deleted, the one holding the lecture kept.
    open_menu(desktop, "校友讲堂系列")
    confirm = open_dialog(desktop, f"删除 {empty['title']}", "删除系列")
    expect(confirm).to_contain_text(f"删除系列“{empty['title']}”？")
    checked(desktop, "console-actions-series-delete")
    confirm.get_by_role("button", name="删除", exact=True).click()
    expect(desktop.get_by_role("row").filter(has_text=empty["title"])).to_have_count(
        0, timeout=SERVICE_WAIT
    )
    titles = [item["title"] for item in created(admin.get("/api/v1/series"))["items"]]
    assert empty["title"] not in titles and hall["title"] in titles

    open_dialog(desktop, f"删除 {hall['title']}", "删除系列").get_by_role(
        "button", name="删除", exact=True
    ).click()
    expect(desktop.get_by_text("该系列下还有讲座，不能删除。")).to_be_visible(timeout=SERVICE_WAIT)
    expect(desktop.get_by_role("row").filter(has_text=hall["title"])).to_have_count(1)
    titles = [item["title"] for item in created(admin.get("/api/v1/series"))["items"]]
    assert hall["title"] in titles
