"""The registry administration's actions clicked as the office clicks them, each result read
back in the page and from the API: two departments merged into a new one (its lineage names
both), an alumnus's card approved then revoked, the cards' privileges edited, the statistics
exported as a real .xlsx, the yearly report generated and opened (web page and PDF), and a
student volunteer's term ended."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.conftest import checked
from tests.browser.steps import (
    SERVICE_WAIT,
    alumnus,
    console_login,
    created,
    department,
    fill,
    open_dialog,
    pick,
    save,
    toast,
    unique,
)
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME

ALUMNUS_PASSWORD = "Card-Holder-2026"


def test_office_merges_two_departments_into_a_new_one(portal, desktop):
    admin = portal.admin()
    first, second = department(admin), department(admin)
    alumnus(admin, first["id"], "合并校友")
    successor_name = unique("新工学院")

    console_login(desktop, "/departments", ADMIN_USERNAME, ADMIN_PASSWORD)
    expect(desktop.get_by_role("heading", name="院系管理", exact=True)).to_be_visible()
    pick(desktop, "被合并的院系", first["name"], second["name"])
    fill(desktop, {"新院系名称": successor_name, "新院系代码": unique("M")})
    checked(desktop, "console-actions-department-merge")
    desktop.get_by_role("button", name="合并", exact=True).click()
    toast(desktop, "院系已合并")

    # The successor's lineage, shown at once, names both merged departments.
    expect(desktop.get_by_role("heading", name=f"{successor_name} 的沿革")).to_be_visible()
    merged = desktop.get_by_role("listitem")
    expect(merged.filter(has_text=first["name"])).to_be_visible()
    expect(merged.filter(has_text=second["name"])).to_be_visible()
    checked(desktop, "console-actions-department-lineage")

    # A merged department's own lineage says where it went.
    desktop.get_by_role("row").filter(has_text=first["name"]).get_by_role(
        "button", name="沿革"
    ).click()
    expect(desktop.get_by_text(f"已并入：{successor_name}")).to_be_visible()

    lineage = created(admin.get(f"/api/v1/departments/{first['id']}/lineage"))
    successor = created(admin.get(f"/api/v1/departments/{lineage['current_id']}/lineage"))
    assert successor["name"] == successor_name
    assert {item["id"] for item in successor["predecessors"]} == {first["id"], second["id"]}
    # The graduation keeps its department; the successor counts its alumni.
    counted = created(
        admin.get(
            "/api/v1/alumni/statistics",
            params={"by": "department", "department_id": successor["id"]},
        )
    )
    assert counted["total"] == 1


def test_office_edits_privileges_approves_and_revokes_a_card(portal, desktop):
    admin = portal.admin()
    dept = department(admin)
    holder = alumnus(admin, dept["id"], "持卡校友")
    username = unique("card")
    created(
        admin.post(
            f"/api/v1/alumni/{holder['id']}/account",
            json={"username": username, "password": ALUMNUS_PASSWORD},
        )
    )
    original = created(admin.get("/api/v1/cards/privileges"))["items"]
    code, privilege = unique("gym"), unique("体育馆")
    console_login(desktop, "/cards", ADMIN_USERNAME, ADMIN_PASSWORD)
    expect(desktop.get_by_role("heading", name="校友卡", exact=True)).to_be_visible()
    try:
        # A privilege added in the editor: the cards approved from now on grant it.
        desktop.get_by_role("button", name="添加权益").click()
        row = len(original) + 1
        fill(desktop, {f"第 {row} 项权益代码": code, f"第 {row} 项权益名称": privilege})
        checked(desktop, "console-actions-card-privileges")
        save(desktop, "保存权益", "权益已保存")
        saved = created(admin.get("/api/v1/cards/privileges"))["items"]
        assert {"code": code, "name": privilege} in [
            {"code": item["code"], "name": item["name"]} for item in saved
        ]

        # The alumnus applies; the office approves the application from the list.
        alumnus_api = portal.client().login(username, ALUMNUS_PASSWORD)
        card = created(alumnus_api.post("/api/v1/me/card"))
        desktop.reload()
        application = desktop.get_by_role("row").filter(has_text=holder["name"])
        expect(application).to_contain_text("待审核", timeout=SERVICE_WAIT)
        save(desktop, "批准", "已批准，校友卡生效。", within=application)
        active = created(alumnus_api.get("/api/v1/me/card"))
        assert active["status"] == "active" and active["token"]
        assert privilege in [item["name"] for item in active["privileges"]]

        # Revoked, with the reason the alumnus will read: it is on the revocation list.
        desktop.locator(".el-radio-button", has_text="有效").click()
        holder_row = desktop.get_by_role("row").filter(has_text=holder["name"])
        expect(holder_row).to_contain_text(privilege, timeout=SERVICE_WAIT)
        checked(desktop, "console-actions-cards-active")
        prompt = open_dialog(desktop, "吊销", "吊销校友卡", within=holder_row)
        prompt.get_by_role("textbox").fill("校友卡遗失，本人申请吊销")
        checked(desktop, "console-actions-card-revoke")
        save(desktop, "吊销", "校友卡已吊销", within=prompt)
        desktop.locator(".el-radio-button", has_text="已吊销").click()
        expect(desktop.get_by_role("row").filter(has_text=holder["name"])).to_contain_text(
            "校友卡遗失，本人申请吊销", timeout=SERVICE_WAIT
        )
        assert created(alumnus_api.get("/api/v1/me/card"))["status"] == "revoked"
        revocations = created(admin.get("/api/v1/cards/revocations"))
        assert card["id"] in str(revocations)
    finally:
        # Other browser tests of the session approve cards: the privileges as they were.
        admin.request(
            "PUT",
            "/api/v1/cards/privileges",
            json={"privileges": [{"code": i["code"], "name": i["name"]} for i in original]},
        )


def test_office_exports_a_departments_alumni_to_excel_and_opens_the_yearly_report(portal, desktop):
    admin = portal.admin()
    dept = department(admin)
    names = [f"导出校友{n}" for n in "甲乙丙"]
    for name in names:
        alumnus(admin, dept["id"], name)

    console_login(desktop, "/statistics", ADMIN_USERNAME, ADMIN_PASSWORD)
    expect(desktop.get_by_role("heading", name="校友统计与导出", exact=True)).to_be_visible()
    pick(desktop, "院系", dept["name"])
    expect(desktop.get_by_text("共 3 位校友。")).to_be_visible(timeout=SERVICE_WAIT)
    checked(desktop, "console-actions-statistics-department")

    with desktop.expect_download() as waiting:
        desktop.get_by_role("button", name="导出 Excel").click()
    assert waiting.value.suggested_filename == "校友名录.xlsx"
    with open(waiting.value.path(), "rb") as file:
        sheet = load_workbook(io.BytesIO(file.read()), read_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
    header, lines = rows[0], [row for row in rows[1:] if any(row)]
    assert "姓名" in header
    assert len(lines) == 3
    assert sorted(row[header.index("姓名")] for row in lines) == sorted(names)
    toast(desktop, "名录已导出")

    # Last year's report: asked for, then opened once generated (the registry takes seconds).
    year = datetime.now(UTC).year - 1
    expect(desktop.get_by_role("spinbutton", name="年份")).to_have_value(str(year))
    state = desktop.get_by_role("status").filter(has_text=f"{year} 年报告")
    deadline = datetime.now(UTC).timestamp() + SERVICE_WAIT / 1000 * 3
    while True:
        desktop.get_by_role("button", name="生成报告").click()
        expect(state).to_be_visible()
        if "已生成" in state.inner_text() or datetime.now(UTC).timestamp() > deadline:
            break
        desktop.wait_for_timeout(1_000)  # the office asks again a moment later
    expect(state).to_contain_text("已生成")
    checked(desktop, "console-actions-yearly-report")

    with desktop.context.expect_page() as opening:
        desktop.get_by_role("button", name="打开网页版").click()
    report = opening.value
    report.wait_for_load_state()
    expect(report.locator("body")).to_contain_text(str(year))
    assert report.url.startswith("blob:")
    report.close()

    pdf_path = re.compile(rf"/api/v1/reports/alumni/{year}\.pdf$")
    with desktop.expect_response(pdf_path) as pdf, desktop.context.expect_page() as opening:
        desktop.get_by_role("button", name="打开 PDF").click()
    assert pdf.value.ok and pdf.value.headers["content-type"] == "application/pdf"
    assert opening.value.url.startswith("blob:")
    opening.value.close()
    assert admin.get(f"/api/v1/reports/alumni/{year}.pdf").content.startswith(b"%PDF-")
    expect(desktop.get_by_role("alert")).to_have_count(0)


def test_office_ends_a_volunteers_term(portal, desktop):
    admin = portal.admin()
    dept = department(admin)
    name = unique("志愿者")[:12]
    volunteer = created(
        admin.post(
            "/api/v1/student-volunteers",
            json={
                "name": name,
                "department_id": dept["id"],
                "class_year": 2024,
                "position": "member",
                "term_start": "2025-09-01",
            },
        )
    )

    console_login(desktop, "/volunteers", ADMIN_USERNAME, ADMIN_PASSWORD)
    row = desktop.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("成员", timeout=SERVICE_WAIT)
    row.get_by_role("button", name="修改").click()
    expect(desktop.get_by_role("heading", name=f"修改：{name}")).to_be_visible()
    pick(desktop, "职务", "秘书长")
    ended = (date.today() - timedelta(days=2)).isoformat()  # over, in China's day too
    fill(desktop, {"任期结束": ended, "备注": "任期届满，转为校友联络人"})
    checked(desktop, "console-actions-volunteer-edit")
    save(desktop, "保存修改", "已保存修改。")
    expect(row).to_contain_text("秘书长")
    expect(row).to_contain_text(f"2025-09-01 至 {ended}")
    expect(row).to_contain_text("任期届满，转为校友联络人")

    listed = created(admin.get("/api/v1/student-volunteers", params={"current": "false"}))
    (stored,) = [item for item in listed["items"] if item["id"] == volunteer["id"]]
    assert stored["position"] == "secretary"
    assert stored["term_end"] == ended
    assert stored["department_id"] == dept["id"] and stored["current"] is False

    # No longer among the volunteers in office.
    desktop.get_by_text("只看在任").click()
    expect(desktop.get_by_role("row").filter(has_text=name)).to_have_count(0)
