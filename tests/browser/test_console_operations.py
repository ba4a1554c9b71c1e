"""The staff console's operations pages (web/src/console/pages/operations/) in a real
browser against the real system: check-in at the door, gift entry with its receipt, the
alumni search as each role may see it, and axe on every page of the area.

Each test makes its own uniquely named data through the public API (the office's admin).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.browser.conftest import checked
from tests.browser.steps import (
    SERVICE_WAIT,
    alumnus,
    choose,
    click_option,
    console_login,
    created,
    department,
    fill,
    fill_event_times,
    gift,
    open_dialog,
    open_menu,
    published_event,
    staff_account,
    submit,
    unique,
)
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME


def test_liaison_checks_in_a_ticket_and_sees_the_attendance_change(portal, desktop):
    admin = portal.admin()
    dept = department(admin)
    liaison = staff_account(admin, "liaison", dept["id"])
    guest = alumnus(admin, dept["id"], "签到校友")
    event = published_event(admin, dept["id"])
    registration = created(
        admin.post(f"/api/v1/events/{event['id']}/registrations", json={"alumnus_id": guest["id"]})
    )
    assert registration["status"] == "confirmed"

    console_login(desktop, f"/checkin?event={event['id']}", liaison)
    expect(desktop.get_by_role("heading", name="活动签到")).to_be_visible()
    count = desktop.get_by_test_id("checkin-count")
    expect(count).to_have_text("0")
    checked(desktop, "console-checkin")

    # The camera path: Chromium's fake camera feeds the scanner (a test pattern, no QR).
    desktop.get_by_role("button", name="用摄像头扫码").click()
    video = desktop.get_by_label("摄像头画面：请将签到二维码对准取景框")
    expect(video).to_be_visible()
    desktop.wait_for_function("() => document.querySelector('video').videoWidth > 0")
    checked(desktop, "console-checkin-camera")
    desktop.get_by_role("button", name="关闭摄像头").click()
    expect(video).to_be_hidden()

    # The token typed (as a hand scanner would): recorded once, the count follows.
    desktop.get_by_label("签到码").fill(registration["checkin_token"])
    desktop.get_by_role("button", name="签到", exact=True).click()
    expect(desktop.get_by_text("签到成功")).to_be_visible(timeout=SERVICE_WAIT)
    expect(count).to_have_text("1")
    desktop.get_by_label("签到码").fill(registration["checkin_token"])
    desktop.get_by_role("button", name="签到", exact=True).click()
    expect(desktop.get_by_text("未重复记录")).to_be_visible()
    expect(count).to_have_text("1")

    desktop.get_by_label("签到码").fill("not-a-ticket")
    desktop.get_by_role("button", name="签到", exact=True).click()
    expect(desktop.get_by_role("alert")).to_contain_text("签到码无效")

    # The event's own page: attendance and the roster show the check-in.
    desktop.get_by_role("menuitem", name="活动", exact=True).click()
    desktop.get_by_role("button", name=event["title"]).click()
    drawer = desktop.get_by_role("dialog", name=event["title"])
    expect(drawer.get_by_test_id("checked-in")).to_have_text("1")
    checked(desktop, "console-event-detail")
    drawer.get_by_role("tab", name="报名名单").click()
    row = drawer.get_by_role("row").filter(has_text="签到校友")
    expect(row).not_to_contain_text("未签到")
    expect(row).to_contain_text(guest["phone"])  # the department's liaison sees contacts
    checked(desktop, "console-event-roster")


def test_office_records_a_gift_once_and_opens_its_receipt(portal, desktop):
    admin = portal.admin()
    dept = department(admin)
    donor = alumnus(admin, dept["id"], "捐赠校友")
    fund = created(
        admin.post(
            "/api/v1/funds",
            json={"name": unique("奖学金"), "kind": "scholarship", "goal_fen": 10_000_000},
        )
    )

    console_login(desktop, "/gifts", ADMIN_USERNAME, ADMIN_PASSWORD)
    expect(desktop.get_by_role("heading", name="捐赠")).to_be_visible()
    checked(desktop, "console-gifts")
    dialog = open_dialog(desktop, "登记捐赠")
    search = dialog.get_by_label("捐赠校友（输入姓名查找）")
    search.click()
    search.fill(donor["employer"])
    click_option(desktop, "捐赠校友（2012 届 计算机科学）")
    fill(dialog, {"金额（元）": "1000.50"})
    dialog.get_by_label("基金 1").click()
    click_option(desktop, fund["name"])
    checked(desktop, "console-gift-entry")

    # The first answer is lost on the way back (the gift is recorded all the same): the
    # retry sends the same Idempotency-Key, and the gift is booked once.
    keys: list[str] = []

    def lose_first_answer(route):
        keys.append(route.request.headers["idempotency-key"])
        answer = route.fetch()
        if len(keys) == 1:
            route.abort("connectionreset")
        else:
            route.fulfill(response=answer)

    desktop.route("**/api/v1/gifts", lose_first_answer)
    dialog.get_by_role("button", name="登记并开具收据").click()
    expect(dialog.get_by_role("alert")).to_contain_text("无法连接服务器", timeout=SERVICE_WAIT)
    with desktop.expect_response("**/api/v1/receipts/*.pdf") as receipt_answer:
        dialog.get_by_role("button", name="登记并开具收据").click()
    assert receipt_answer.value.ok
    assert receipt_answer.value.headers["content-type"].startswith("application/pdf")
    desktop.unroute("**/api/v1/gifts")
    assert len(keys) >= 2 and len(set(keys)) == 1

    gifts = created(admin.get("/api/v1/gifts", params={"alumnus_id": donor["id"]}))["items"]
    assert len(gifts) == 1 and gifts[0]["amount_fen"] == 100_050
    number = gifts[0]["receipt_number"]

    receipt = desktop.get_by_role("dialog", name=f"捐赠收据 {number}")
    expect(receipt.locator("iframe")).to_have_attribute("src", re.compile(r"^blob:"))
    checked(desktop, "console-gift-receipt")
    desktop.keyboard.press("Escape")
    expect(receipt).to_be_hidden()

    with desktop.expect_download() as saved:
        desktop.get_by_role("button", name=f"下载收据 {number}").click()
    with open(saved.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"


def test_office_refunds_part_of_a_gift_once(portal, desktop):
    admin = portal.admin()
    dept = department(admin)
    donor = alumnus(admin, dept["id"], "退款校友")
    fund = created(
        admin.post("/api/v1/funds", json={"name": unique("助学金"), "kind": "scholarship"})
    )
    given = gift(admin, donor, fund, 100_050)
    number = given["receipt_number"]

    console_login(desktop, "/gifts", ADMIN_USERNAME, ADMIN_PASSWORD)
    refund = open_dialog(desktop, f"退款：{number}", "退款")
    fill(refund, {"退款金额（元）": "200.50", "原因": "捐赠人要求部分退回"})
    checked(desktop, "console-gift-refund")
    submit(refund, "确认退款")
    row = desktop.get_by_role("row").filter(has_text=fund["name"])
    expect(row).to_contain_text("200.50", timeout=SERVICE_WAIT)
    assert created(admin.get(f"/api/v1/gifts/{given['id']}"))["refunded_fen"] == 20_050


def test_search_shows_a_liaison_only_their_department_with_contacts_as_roles_may(portal, desktop):
    admin = portal.admin()
    own, other = department(admin), department(admin)
    employer = unique("联合单位")
    ours = alumnus(admin, own["id"], "本系校友", employer)
    theirs = alumnus(admin, other["id"], "外系校友", employer)
    liaison = staff_account(admin, "liaison", own["id"])

    console_login(desktop, "/alumni", liaison)
    desktop.get_by_label("关键词").fill(employer)
    desktop.get_by_role("button", name="查询").click()
    results = desktop.locator("main")
    expect(
        results.get_by_role("row").filter(has_text=employer).get_by_role("button", name="本系校友")
    ).to_have_count(1)
    expect(results.get_by_role("button", name="外系校友")).to_have_count(0)
    checked(desktop, "console-alumni-liaison")
    assert theirs["id"] not in desktop.content()

    results.get_by_role("row").filter(has_text=employer).get_by_role(
        "button", name="本系校友"
    ).click()
    record = desktop.get_by_role("dialog", name="校友档案")
    expect(record.get_by_text(ours["phone"]).first).to_be_visible()
    checked(desktop, "console-alumnus-record")

    # The committee searches every department, with contacts masked.
    committee = staff_account(admin, "committee")
    desktop.keyboard.press("Escape")
    expect(record).to_be_hidden()
    desktop.get_by_role("button", name="退出登录").click()
    expect(desktop.get_by_role("heading", name="校友工作平台 · 工作台登录")).to_be_visible()
    console_login(desktop, "/alumni", committee)
    desktop.get_by_label("关键词").fill(employer)
    desktop.get_by_role("button", name="查询").click()
    # The search ranks near matches too (other tests' employers): the row of this one.
    their_row = results.get_by_role("row").filter(has_text=employer).filter(has_text="外系校友")
    expect(their_row).to_have_count(1)
    their_row.get_by_role("button", name="外系校友").click()
    expect(record.get_by_text(theirs["phone"])).to_have_count(0)
    expect(record.get_by_text(theirs["phone"][-4:], exact=False).first).to_be_visible()


def test_every_operations_page_of_the_office_passes_axe(portal, desktop):
    admin = portal.admin()
    dept = department(admin)
    person = alumnus(admin, dept["id"], "访问校友")
    admin.get(f"/api/v1/alumni/{person['id']}")  # an unmasked read: the access log has a line
    subject = unique("建议")
    created(
        admin.post(
            "/api/v1/suggestions",
            json={"alumnus_id": person["id"], "subject": subject, "body": "建议内容"},
        )
    )
    created(
        admin.post(
            "/api/v1/plans",
            json={
                "year": datetime.now(UTC).year,
                "title": unique("年度计划"),
                "department_id": dept["id"],
            },
        )
    )

    console_login(desktop, "/suggestions", ADMIN_USERNAME, ADMIN_PASSWORD)
    suggestion = desktop.get_by_role("row").filter(has_text=subject)
    reply = open_dialog(desktop, "答复", f"答复：{subject}", within=suggestion)
    reply.get_by_role("textbox").fill("感谢建议，已转相关部门。")
    desktop.get_by_role("button", name="确定").click()
    expect(suggestion).to_contain_text("已答复", timeout=SERVICE_WAIT)

    pages = {
        "校友查询": "校友查询",
        "活动": "活动",
        "活动签到": "活动签到",
        "活动通报": "活动通报",
        "返校接待": "返校接待",
        "工作计划": "工作计划",
        "建议与服务需求": "建议与服务需求",
        "教育基金": "教育基金",
        "捐赠": "捐赠",
        "校友通讯": "校友通讯",
        "个人信息访问记录": "个人信息访问记录",
        "账号管理": "账号管理",
    }
    for item, heading in pages.items():
        open_menu(desktop, item, heading)
        checked(desktop, f"console-{desktop.url.split('#/')[-1] or 'home'}")
        assert '{"' not in desktop.locator("main").inner_text()  # no raw JSON shown

    # The access log names the unmasked read; the dialogs of the area pass axe too.
    desktop.get_by_role("menuitem", name="个人信息访问记录").click()
    desktop.get_by_label("校友编号").fill(person["id"])
    desktop.get_by_role("button", name="查询").click()
    expect(
        desktop.locator("main").get_by_role("row").filter(has_text=ADMIN_USERNAME).first
    ).to_contain_text(person["id"])
    desktop.get_by_role("menuitem", name="账号管理").click()
    desktop.get_by_role("button", name="新建工作人员账号").click()
    checked(desktop, "console-account-new")
    desktop.keyboard.press("Escape")
    desktop.get_by_role("menuitem", name="校友通讯").click()
    desktop.get_by_role("button", name="撰写通讯").click()
    checked(desktop, "console-newsletter-new")


def test_office_works_through_an_event_a_visit_a_plan_and_a_newsletter(portal, desktop):
    admin = portal.admin()
    dept = department(admin)
    person = alumnus(admin, dept["id"], "来访校友")
    visit_day = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    created(
        admin.post(
            "/api/v1/visits",
            json={
                "requester_alumnus_id": person["id"],
                "visit_date": visit_day,
                "group_size": 3,
                "purpose": unique("参观实验室"),
                "contact": {"name": "来访校友", "phone": person["phone"]},
            },
        )
    )
    console_login(desktop, "/events", ADMIN_USERNAME, ADMIN_PASSWORD)

    # An event made in the console, then published from its page.
    title = unique("校友大讲堂")
    form = open_dialog(desktop, "新建活动")
    fill(form, {"标题": title, "地点": "逸夫楼"})
    fill_event_times(form, datetime.now() + timedelta(days=3))
    checked(desktop, "console-event-new")
    submit(form, "保存为草稿")
    drawer = open_dialog(desktop, title)
    drawer.get_by_role("button", name="发布").click()
    expect(drawer).to_contain_text("已发布", timeout=SERVICE_WAIT)
    desktop.keyboard.press("Escape")

    # The visit approved with its host.
    desktop.get_by_role("menuitem", name="返校接待").click()
    row = desktop.get_by_role("row").filter(has_text=visit_day).filter(has_text="待审批").first
    prompt = open_dialog(desktop, "批准", "批准返校", within=row)
    checked(desktop, "console-visit-approve")
    prompt.get_by_role("textbox").fill("王老师")
    prompt.get_by_role("button", name="确定").click()
    expect(desktop.get_by_role("row").filter(has_text="王老师").first).to_contain_text(
        "已批准", timeout=SERVICE_WAIT
    )

    # A plan for the department, a task assigned and moved on.
    desktop.get_by_role("menuitem", name="工作计划").click()
    plan_title = unique("年度工作计划")
    plan_form = open_dialog(desktop, "新建计划", "新建工作计划")
    fill(plan_form, {"标题": plan_title})
    choose(desktop, plan_form, "系（院）", dept["name"])
    plan_form.get_by_role("button", name="保存").click()
    plan = open_dialog(desktop, plan_title)
    fill(plan, {"任务": "走访 2012 届校友"}, exact=True)
    fill(plan, {"负责人账号": ADMIN_USERNAME, "截止日期": visit_day})
    plan.get_by_role("button", name="布置").click()
    task = plan.get_by_role("row").filter(has_text="走访 2012 届校友")
    expect(task).to_contain_text("已布置", timeout=SERVICE_WAIT)
    checked(desktop, "console-plan")
    task.get_by_role("button", name="已检查").click()
    desktop.get_by_role("dialog", name="标记为“已检查”").get_by_role("textbox").fill("已核对名单")
    desktop.get_by_role("button", name="确定").click()
    expect(task).to_contain_text("已检查", timeout=SERVICE_WAIT)
    plan.get_by_role("button", name="关闭此对话框").click()
    expect(plan).to_be_hidden()

    # A newsletter to the department, sent, with its progress.
    desktop.get_by_role("menuitem", name="校友通讯").click()
    subject = unique("系友通讯")
    compose = open_dialog(desktop, "撰写通讯")
    fill(compose, {"主题": subject, "正文": "各位系友：返校日定于下月。"})
    choose(desktop, compose, "发送给哪个系（院）的校友", dept["name"])
    compose.get_by_role("button", name="保存草稿").click()
    desktop.get_by_role("button", name=subject).click()
    letter = desktop.get_by_role("dialog", name=subject)
    letter.get_by_role("button", name="立即发送").click()
    expect(letter).not_to_contain_text("草稿", timeout=SERVICE_WAIT)
    expect(letter.get_by_text("发送进度")).to_be_visible()
    checked(desktop, "console-newsletter-progress")


def test_a_liaison_sees_the_pages_of_their_role_only(portal, desktop):
    admin = portal.admin()
    dept = department(admin)
    liaison = staff_account(admin, "liaison", dept["id"])
    console_login(desktop, "/", liaison)
    menu = desktop.get_by_role("navigation", name="主菜单")
    for office_only in ("账号管理", "个人信息访问记录", "教育基金", "建议与服务需求"):
        expect(menu.get_by_role("menuitem", name=office_only)).to_have_count(0)
    for item in (
        "校友查询",
        "活动",
        "活动签到",
        "活动通报",
        "返校接待",
        "工作计划",
        "捐赠",
        "校友通讯",
    ):
        menu.get_by_role("menuitem", name=item, exact=True).click()
        expect(desktop.get_by_role("heading", name=item, exact=True)).to_be_visible()
        desktop.wait_for_load_state("networkidle")
        expect(desktop.get_by_role("alert")).to_have_count(0)  # no 403 on any page shown
        checked(desktop, f"console-liaison-{desktop.url.split('#/')[-1]}")
