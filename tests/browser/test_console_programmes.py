"""The staff console's programmes pages (web/src/console/pages/programmes/) in a real browser
against the real system: the office keeps a lecture series and a cooperation project (a note,
a status move), edits and previews a notification template, reads the delivery statistics
and records an alumnus's answer on notifications; axe on every page and dialog of the area.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import checked
from tests.browser.steps import (
    SERVICE_WAIT,
    alumnus,
    console_login,
    department,
    fill,
    open_dialog,
    open_menu,
    submit,
    unique,
)
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME


def test_office_keeps_a_lecture_series_and_a_cooperation_project(portal, desktop):
    console_login(desktop, "/series", ADMIN_USERNAME, ADMIN_PASSWORD)
    admin = portal.admin()

    # A series made, renamed; a second one deleted.
    title = unique("校友讲堂")
    expect(desktop.get_by_role("heading", name="校友讲堂系列", exact=True)).to_be_visible()
    form = open_dialog(desktop, "新建系列")
    fill(form, {"系列名称": title, "简介": "每月一期，请校友回校讲述行业前沿。"})
    checked(desktop, "console-series-new")
    submit(form, "保存")
    form = open_dialog(desktop, f"编辑 {title}", "编辑系列")
    fill(form, {"系列名称": title + "（第二季）"})
    form.get_by_role("button", name="保存").click()
    expect(desktop.get_by_role("row").filter(has_text=title + "（第二季）")).to_be_visible(
        timeout=SERVICE_WAIT
    )
    series = {item["title"]: item for item in admin.get("/api/v1/series").json()["items"]}
    assert series[title + "（第二季）"]["description"] == "每月一期，请校友回校讲述行业前沿。"
    checked(desktop, "console-series")

    # A project with a contact, a note, and moved from 筹划中 to 进行中.
    project = unique("联合实验室")
    open_menu(desktop, "合作项目")
    form = open_dialog(desktop, "新建项目")
    fill(form, {"项目名称": project, "合作方": "杭州某科技有限公司"})
    form.get_by_role("button", name="添加联系人").click()
    fill(form, {"联系人1姓名": "李工", "联系人1手机号": "13900001111"})
    checked(desktop, "console-project-new")
    submit(form, "保存")
    row = desktop.get_by_role("row").filter(has_text=project)
    expect(row).to_contain_text("筹划中")

    prompt = open_dialog(desktop, f"添加记录 {project}", f"添加记录：{project}", within=row)
    prompt.get_by_role("textbox").fill("双方已签署合作意向书。")
    prompt.get_by_role("button", name="添加").click()
    expect(desktop.get_by_text("已添加记录")).to_be_visible(timeout=SERVICE_WAIT)
    row.get_by_role("button", name="展开当前行").click()
    expect(desktop.locator("main")).to_contain_text("双方已签署合作意向书。")
    expect(desktop.locator("main")).to_contain_text("李工 13900001111")

    move = open_dialog(desktop, f"变更状态 {project}", "变更状态", within=row)
    fill(move, {"说明": "实验室挂牌。"})
    checked(desktop, "console-project-status")
    move.get_by_role("button", name="确定").click()
    expect(row).to_contain_text("进行中", timeout=SERVICE_WAIT)
    checked(desktop, "console-projects")

    stored = next(
        item
        for item in admin.get("/api/v1/projects", params={"limit": 100}).json()["items"]
        if item["title"] == project
    )
    assert stored["status"] == "active"
    assert stored["contacts"][0]["name"] == "李工"
    assert "双方已签署合作意向书。" in [note["note"] for note in stored["notes"]]


def test_office_edits_a_template_and_reads_the_notifications(portal, desktop):
    admin = portal.admin()
    dept = department(admin)
    person = alumnus(admin, dept["id"], "通知校友")
    templates = admin.get(
        "/api/v1/notification-templates",
        params={"kind": "task_overdue", "channel": "inbox", "locale": "zh-CN"},
    ).json()["items"]
    original = templates[0]
    console_login(desktop, "/notification-templates", ADMIN_USERNAME, ADMIN_PASSWORD)
    try:
        # A draft previewed (nothing stored), then saved as a new version.
        expect(desktop.get_by_role("heading", name="通知模板", exact=True)).to_be_visible()
        desktop.get_by_role("button", name="编辑模板 task_overdue 站内信 简体中文").click()
        dialog = desktop.get_by_role("dialog").filter(has_text="编辑模板：task_overdue")
        dialog.get_by_label("标题").fill("【提醒】" + original["subject"])
        dialog.get_by_role("button", name="预览").click()
        preview = dialog.get_by_role("region", name="预览结果")
        expect(preview).to_contain_text("【提醒】任务逾期：", timeout=SERVICE_WAIT)
        assert "{{" not in preview.inner_text()  # rendered with the kind's sample data
        checked(desktop, "console-template-edit")
        dialog.get_by_role("button", name="保存新版本").click()
        expect(dialog).to_contain_text(f"当前第 {original['version'] + 1} 版", timeout=SERVICE_WAIT)
        saved = admin.get(f"/api/v1/notification-templates/{original['id']}").json()
        assert saved["subject"] == "【提醒】" + original["subject"]
        desktop.keyboard.press("Escape")
        checked(desktop, "console-notification-templates")
    finally:
        # Other browser tests of the session read this template's messages.
        admin.request(
            "PUT",
            f"/api/v1/notification-templates/{original['id']}",
            json={"subject": original["subject"], "body": original["body"]},
        )

    # The statistics as the API counts them, and an alumnus's answer recorded from paper.
    desktop.get_by_role("menuitem", name="通知发送记录", exact=True).click()
    expect(desktop.get_by_role("heading", name="发送统计", exact=True)).to_be_visible()
    stats = admin.get("/api/v1/notifications/stats").json()["items"]
    table = desktop.get_by_label("发送统计", exact=True)
    if stats:
        expect(table).to_contain_text(stats[0]["kind"], timeout=SERVICE_WAIT)
    desktop.wait_for_load_state("networkidle")
    checked(desktop, "console-notifications")

    dialog = open_dialog(desktop, "校友通知偏好")
    fill(dialog, {"校友编号": person["id"]})
    dialog.get_by_role("button", name="读取").click()
    switch = dialog.get_by_role("switch", name="短信接收学校发展近况等通报")
    expect(switch).to_be_attached(timeout=SERVICE_WAIT)  # Element Plus hides the input itself
    before = switch.is_checked()
    switch.focus()
    switch.press("Space")
    expect(switch).to_have_attribute("aria-checked", str(not before).lower())
    checked(desktop, "console-notification-preferences")
    dialog.get_by_role("button", name="记录校友意见").click()
    expect(
        dialog.get_by_role("row").filter(has_text="短信").filter(has_text="通报")
    ).to_contain_text("纸质表格", timeout=SERVICE_WAIT)
    answer = admin.get(f"/api/v1/alumni/{person['id']}/notification-preferences").json()
    line = next(
        item
        for item in answer["preferences"]
        if item["channel"] == "sms" and item["purpose"] == "marketing"
    )
    assert line["granted"] is (not before)
    assert line["source"] == "paper_form"
