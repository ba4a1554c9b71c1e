"""The staff console's registry administration in a real browser (issue 13: the console covers
every API): the office renames a department and reads its lineage, makes a login for an
alumnus and disables it, approves that alumnus's erasure request, downloads the CSV export;
axe and a screenshot on every page built for it."""

from __future__ import annotations

import random
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, checked
from tests.browser.steps import click_option, console_login, fill, open_page, save, unique

STAFF_PASSWORD = "Console-Registry-9"
ALUMNUS_PASSWORD = "Alumnus-Login-77"
NEW_PASSWORD = "Console-Registry-Changed-31"


def test_the_office_administers_the_registry(portal, desktop):
    office = portal.admin()
    office_user = unique("offi")
    made = office.post(
        "/api/v1/accounts",
        json={"username": office_user, "password": STAFF_PASSWORD, "role": "office"},
    )
    assert made.status_code == 201, made.text
    old_name = unique("旧名学院")
    department = office.post("/api/v1/departments", json={"name": old_name, "code": unique("D")})
    assert department.status_code == 201, department.text
    department = department.json()
    name = "钱" + "".join(random.choice("一二三四五六七八九明华强伟") for _ in range(2))
    graduation = {
        "department_id": department["id"],
        "class_year": 2001,
        "degree": "bachelor",
        "major": "化学",
    }
    alumnus = office.post("/api/v1/alumni", json={"name": name, "graduations": [graduation]})
    assert alumnus.status_code == 201, alumnus.text
    alumnus = alumnus.json()

    # Departments: rename, then the lineage names the old name.
    console_login(desktop, "/departments", office_user, STAFF_PASSWORD)
    expect(desktop.get_by_role("heading", name="院系管理", exact=True)).to_be_visible()
    row = desktop.get_by_role("row").filter(has_text=old_name)
    row.get_by_role("button", name="更名").click()
    new_name = unique("新名学院")
    fill(desktop, {"新名称": new_name})
    save(desktop, "保存更名", "院系已更名")
    lineage = desktop.get_by_role("heading", name=f"{new_name} 的沿革")
    expect(lineage).to_be_visible()
    expect(desktop.get_by_role("listitem").filter(has_text=old_name)).to_be_visible()
    assert_accessible(desktop, "console-registry-departments")

    # A login for the alumnus, then disabled: the alumnus can no longer log in.
    open_page(desktop, "/alumnus-accounts", "校友登录账号")
    picker = desktop.get_by_role("combobox", name="校友")
    picker.click()
    picker.fill(name)
    click_option(desktop, f"{name}（2001届）")
    username = unique("alum")
    fill(desktop, {"用户名": username, "初始密码（至少 10 位）": ALUMNUS_PASSWORD})
    save(desktop, "开通账号", f"已为校友开通账号 {username}")
    alumnus_api = portal.client().login(username, ALUMNUS_PASSWORD)
    reason = unique("不再希望被联系-")
    erasure = alumnus_api.post("/api/v1/me/erasure", json={"reason": reason})
    assert erasure.status_code == 201, erasure.text
    assert_accessible(desktop, "console-registry-alumnus-accounts")
    account = desktop.get_by_role("row").filter(has_text=username)
    save(desktop, "停用", f"账号 {username} 已停用", within=account)
    refused = portal.client().http.post(
        f"{portal.base_url}/api/v1/auth/token",
        json={"username": username, "password": ALUMNUS_PASSWORD},
    )
    assert refused.status_code in (401, 403), refused.text

    # Statistics (the renamed department counts the alumnus) and the CSV export.
    open_page(desktop, "/statistics", "校友统计与导出")
    expect(desktop.get_by_text(new_name).first).to_be_visible()
    assert_accessible(desktop, "console-registry-statistics")
    with desktop.expect_download() as waiting:
        desktop.get_by_role("button", name="导出 CSV").click()
    export = Path(waiting.value.path()).read_bytes().decode("utf-8-sig")
    assert "姓名" in export.splitlines()[0]

    # The alumnus's erasure request, approved: the record is blanked.
    open_page(desktop, "/erasure-requests", "个人信息删除申请")
    row = desktop.get_by_role("row").filter(has_text=reason)
    expect(row).to_be_visible()
    assert_accessible(desktop, "console-registry-erasure-requests")
    row.get_by_role("button", name="同意删除").click()
    save(desktop, "同意删除", "个人信息已删除", within=desktop.get_by_role("dialog"))
    decided = office.get(f"/api/v1/erasure-requests/{erasure.json()['id']}")
    assert decided.json()["status"] == "approved", decided.text

    # The other pages render their data and pass axe.
    for path, heading, shot in [
        ("/cards", "校友卡", "console-registry-cards"),
        ("/unconfirmed", "待核实档案", "console-registry-unconfirmed"),
        ("/volunteers", "学生校友志愿者", "console-registry-volunteers"),
        ("/classmates", "信使的同班校友", "console-registry-classmates"),
    ]:
        open_page(desktop, path, heading)
        assert_accessible(desktop, shot)

    # A steward named for a distinguished-alumni entry, from the archive page.
    reasons = unique("多年资助贫困学生-")
    nominated = office.post(
        "/api/v1/distinguished/nominations",
        json={"alumnus_id": other_alumnus(office, department["id"]), "reasons": reasons},
    )
    assert nominated.status_code == 201, nominated.text
    entry = office.post(f"/api/v1/distinguished/nominations/{nominated.json()['id']}/approve")
    assert entry.status_code == 200, entry.text
    open_page(desktop, "/distinguished", "杰出校友档案")
    desktop.locator(".el-table__body tr", has_text=reasons).get_by_role(
        "button", name="指定负责人"
    ).click()
    dialog = desktop.get_by_role("dialog")
    # Element Plus draws the chosen value over the select's input: the select is clicked.
    dialog.locator(".el-select").filter(has=desktop.get_by_label("负责人")).click()
    click_option(desktop, office_user, exact=True)
    checked(desktop, "console-registry-steward-dialog")
    dialog.get_by_role("button", name="确定").click()
    expect(desktop.get_by_text("已指定负责人。")).to_be_visible()
    steward = office.get(f"/api/v1/distinguished/{entry.json()['id']}").json()["steward"]
    assert steward["username"] == office_user

    # The office user changes their own password from the header: back to the login page,
    # and the new password is the one that works.
    desktop.get_by_role("button", name="修改密码").click()
    fill(desktop, {"当前密码": STAFF_PASSWORD, "新密码": NEW_PASSWORD})
    checked(desktop, "console-registry-password")
    desktop.get_by_role("button", name="确认修改").click()
    expect(desktop.get_by_role("button", name="登录", exact=True)).to_be_visible()
    portal.client().login(office_user, NEW_PASSWORD)


def other_alumnus(office, department_id: str) -> str:
    """A second alumnus of the department, for the archive; their id."""
    graduation = {
        "department_id": department_id,
        "class_year": 1990,
        "degree": "master",
        "major": "物理",
    }
    name = "孙" + random.choice("文武安康")
    made = office.post("/api/v1/alumni", json={"name": name, "graduations": [graduation]})
    assert made.status_code == 201, made.text
    return made.json()["id"]
