"""The alumni site (/, web/src/site) on a phone, against the real system: an alumnus claims
their record, logs in, signs up for an event and opens the QR ticket, gives online through
the stand-in payment provider and downloads the receipt, corrects and exports their
profile; every page passes axe and is photographed.

The office seeds what each test needs through the public API (`portal.admin()`); names are
unique, so the tests share the session's system with the others."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible
from tests.support.mailbox import mails_to, wait_for

ROOT = Path(__file__).resolve().parents[2]
JSQR_SCRIPT = ROOT / "web" / "node_modules" / "jsqr" / "dist" / "jsQR.js"
PASSWORD = "alumni-passphrase-2026"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def ok(response: requests.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text[:500])
    return response.json() if response.content else None


class Office:
    """The office's API client, making what a test needs."""

    def __init__(self, portal) -> None:
        self.client = portal.admin()

    def call(self, method: str, path: str, status: int = 200, **body: Any) -> Any:
        return ok(self.client.request(method, path, json=body or None), status)

    def department(self) -> dict:
        code = unique("D")
        return self.call("POST", "/api/v1/departments", 201, name=f"测试学院{code}", code=code)

    def alumnus(self, department_id: str, **fields: Any) -> dict:
        graduation = {
            "department_id": department_id,
            "major": "软件工程",
            "degree": "bachelor",
            "class_year": 2012,
            "student_number": fields.pop("student_number", unique("S")[:10]),
        }
        name = fields.pop("name", "校友" + unique("")[:4])
        return self.call(
            "POST", "/api/v1/alumni", 201, name=name, graduations=[graduation], **fields
        )

    def alumnus_login(self, department_id: str, **fields: Any) -> tuple[dict, str]:
        """A new alumnus with a login the office makes; the record and the username."""
        record = self.alumnus(department_id, **fields)
        username = unique("alumnus")
        self.call(
            "POST",
            f"/api/v1/alumni/{record['id']}/account",
            201,
            username=username,
            password=PASSWORD,
        )
        return record, username

    def published_event(self, capacity: int = 10) -> dict:
        now = datetime.now(UTC)
        starts = now + timedelta(days=30)
        event = self.call(
            "POST",
            "/api/v1/events",
            201,
            kind="reunion",
            title="毕业十周年返校" + unique("")[:4],
            organiser_type="office",
            venue="校友会堂",
            starts_at=iso(starts),
            ends_at=iso(starts + timedelta(hours=3)),
            capacity=capacity,
            registration_opens_at=iso(now - timedelta(days=1)),
            registration_closes_at=iso(starts),
            description="欢迎各位校友回家。",
        )
        return self.call("POST", f"/api/v1/events/{event['id']}/publish")

    def fund(self) -> dict:
        return self.call(
            "POST",
            "/api/v1/funds",
            201,
            name="励志奖学金" + unique("")[:4],
            kind="scholarship",
            purpose="资助家庭困难的学生",
            goal_fen=10_000_000,
        )

    def published_story(self, alumnus_id: str) -> dict:
        story = self.call(
            "POST",
            "/api/v1/staff/stories",
            201,
            title="扎根西部的校友" + unique("")[:4],
            summary="十年坚守乡村教育",
            body="他毕业后回到家乡任教，十年来带出了一届又一届学生。",
            alumni=[{"alumnus_id": alumnus_id}],
        )
        self.call("POST", f"/api/v1/staff/stories/{story['id']}/review")
        return self.call("POST", f"/api/v1/staff/stories/{story['id']}/publish")


@pytest.fixture(scope="module")
def office(portal) -> Office:
    return Office(portal)


@pytest.fixture(scope="module")
def department(office) -> dict:
    return office.department()


def log_in(page: Page, username: str, start: str = "/#/me") -> None:
    """Opens `start` (a page that needs a login), logs in there and lands back on it."""
    page.goto(start)
    expect(page.get_by_role("heading", name="校友登录")).to_be_visible()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="校友登录")).to_be_hidden()


def qr_text(page: Page) -> str:
    """The text of the QR code shown on the page, decoded in the page with jsQR."""
    if not page.evaluate("typeof jsQR !== 'undefined'"):
        page.evaluate(JSQR_SCRIPT.read_text(encoding="utf-8"))
    return page.evaluate(
        """async () => {
            const image = document.querySelector('img[data-qr]');
            await image.decode();
            const canvas = document.createElement('canvas');
            canvas.width = image.naturalWidth;
            canvas.height = image.naturalHeight;
            const context = canvas.getContext('2d');
            context.drawImage(image, 0, 0);
            const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
            return jsQR(pixels.data, canvas.width, canvas.height)?.data ?? null;
        }"""
    )


def test_alumnus_signs_up_for_an_event_on_a_phone_and_opens_the_qr_ticket(
    phone: Page, portal, office, department
):
    _, username = office.alumnus_login(department["id"], email=f"{unique('a')}@example.com")
    event = office.published_event()
    log_in(phone, username, "/#/events")

    expect(phone.get_by_role("heading", name="校友活动")).to_be_visible()
    assert_accessible(phone, "site-events")
    phone.get_by_text(event["title"]).click()
    expect(phone.get_by_role("heading", name=event["title"])).to_be_visible()
    assert_accessible(phone, "site-event")
    phone.get_by_role("button", name="立即报名").click()
    expect(phone.locator("[data-registration-status]")).to_contain_text("已报名")

    phone.get_by_role("button", name="查看电子票").click()
    ticket = phone.get_by_role("img", name=f"{event['title']} 签到二维码")
    expect(ticket).to_be_visible()
    assert_accessible(phone, "site-event-ticket")
    token = qr_text(phone)
    # The QR code is the registration's own check-in token: the office checks it in.
    alumnus_client = portal.client().login(username, PASSWORD)
    mine = ok(alumnus_client.get("/api/v1/me/registrations"))["items"]
    (registration,) = [r for r in mine if r["event_id"] == event["id"]]
    assert token == registration["checkin_token"]
    office.call("POST", f"/api/v1/events/{event['id']}/checkins", 201, token=token)

    phone.goto("/#/me/registrations")
    expect(phone.get_by_text(event["title"])).to_be_visible()
    assert_accessible(phone, "site-registrations")


def test_alumnus_cancels_a_registration_and_the_seat_is_freed(
    phone: Page, portal, office, department
):
    _, username = office.alumnus_login(department["id"])
    event = office.published_event(capacity=1)
    log_in(phone, username, f"/#/events/{event['id']}")
    phone.get_by_role("button", name="立即报名").click()
    expect(phone.locator("[data-registration-status]")).to_contain_text("已报名")

    phone.once("dialog", lambda dialog: dialog.accept())
    phone.get_by_role("button", name="取消报名").click()
    expect(phone.get_by_role("button", name="立即报名")).to_be_visible()
    stats = office.call("GET", f"/api/v1/events/{event['id']}/stats")
    assert (stats["confirmed"], stats["cancelled"]) == (0, 1), stats


def test_alumnus_gives_online_and_downloads_the_receipt(phone: Page, portal, office, department):
    record, username = office.alumnus_login(department["id"])
    fund = office.fund()
    log_in(phone, username)
    phone.goto("/#/funds")
    expect(phone.get_by_role("heading", name="教育基金")).to_be_visible()
    assert_accessible(phone, "site-funds")
    phone.get_by_role("button", name=f"我要捐赠：{fund['name']}").click()
    expect(phone.get_by_role("heading", name="我要捐赠")).to_be_visible()
    expect(phone.get_by_label("捐赠给哪个基金")).to_have_value(fund["id"])
    assert_accessible(phone, "site-give")
    phone.get_by_label("金额（元）").fill("not money")
    phone.get_by_role("button", name="去支付").click()
    expect(phone.get_by_text("请填写金额，最多两位小数")).to_be_visible()
    phone.get_by_label("金额（元）").fill("200.50")
    phone.get_by_role("button", name="去支付").click()

    expect(phone.get_by_role("img", name="微信支付二维码")).to_be_visible()
    expect(phone.locator("[data-order-status]")).to_have_text("待支付")
    assert_accessible(phone, "site-payment")
    assert qr_text(phone).startswith("weixin://wxpay/bizpayurl?")
    # The donor pays in WeChat: here, the stand-in provider is told the order was paid.
    order_id = re.search(r"/give/([^/?]+)", phone.url)[1]
    alumnus_client = portal.client().login(username, PASSWORD)
    order = ok(alumnus_client.get(f"/api/v1/payment-orders/{order_id}"))
    provider = portal.stand_in_addresses["PAYMENT_PROVIDER_ADDRESS"]
    paid = requests.post(f"http://{provider}/standin/pay/{order['out_trade_no']}", timeout=10)
    assert paid.ok, paid.text
    expect(phone.locator("[data-order-status]")).to_have_text("已支付", timeout=30_000)

    phone.get_by_role("button", name="查看我的捐赠").click()
    expect(phone.get_by_text("¥200.50").first).to_be_visible()
    assert_accessible(phone, "site-gifts")
    gift = ok(alumnus_client.get("/api/v1/gifts"))["items"][0]
    assert gift["donor"]["alumnus_id"] == record["id"] and gift["amount_fen"] == 20050
    with phone.expect_download() as download:
        phone.get_by_role("button", name=f"下载收据 PDF：{gift['receipt_number']}").click()
    path = download.value.path()
    assert Path(path).read_bytes().startswith(b"%PDF")

    # The gift is on the fund's honour roll, shown as the donor chose.
    phone.goto("/#/funds")
    phone.get_by_role("button", name=f"捐赠芳名录：{fund['name']}").click()
    expect(phone.get_by_role("heading", name="捐赠芳名录")).to_be_visible()
    entry = phone.locator("[data-honour-entry]")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(fund["name"])
    assert_accessible(phone, "site-honour-roll")


def test_alumnus_corrects_and_exports_the_profile_and_sets_choices(
    phone: Page, portal, office, department
):
    record, username = office.alumnus_login(department["id"], city="苏州")
    log_in(phone, username, "/#/me/profile")

    expect(phone.get_by_label("城市")).to_have_value("苏州")
    assert_accessible(phone, "site-profile")
    phone.get_by_label("城市").fill("杭州")
    phone.get_by_label("工作单位").fill("西湖科技有限公司")
    phone.get_by_role("button", name="保存更正").click()
    expect(phone.get_by_text("已保存。")).to_be_visible()
    stored = office.call("GET", f"/api/v1/alumni/{record['id']}")
    assert (stored["city"], stored["employer"]) == ("杭州", "西湖科技有限公司")

    with phone.expect_download() as download:
        phone.get_by_role("button", name="导出我的数据（JSON）").click()
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert record["name"] in json.dumps(exported, ensure_ascii=False)

    phone.goto("/#/me/consent")
    switch = phone.get_by_role("switch", name="学校动态与简报：电子邮件")
    expect(switch).to_be_visible()
    assert_accessible(phone, "site-consent")
    was = switch.get_attribute("aria-checked") == "true"
    switch.click()
    expect(phone.get_by_role("status").filter(has_text="已")).to_be_visible()
    alumnus_client = portal.client().login(username, PASSWORD)
    lines = ok(alumnus_client.get("/api/v1/me/notification-preferences"))["preferences"]
    (line,) = [x for x in lines if (x["channel"], x["purpose"]) == ("email", "marketing")]
    assert line["granted"] is (not was)

    phone.goto("/#/directory")
    phone.get_by_role("radio", name="再显示工作单位和城市").click()
    expect(phone.get_by_text("已保存：再显示工作单位和城市")).to_be_visible()
    assert ok(alumnus_client.get("/api/v1/me/directory-privacy"))["level"] == "work"
    assert_accessible(phone, "site-directory")


def test_claim_by_student_number_then_log_in(phone: Page, portal, office, department):
    email = f"{unique('claim')}@example.com"
    number = unique("S")[:10]
    record = office.alumnus(department["id"], student_number=number, email=email)
    phone.goto("/#/claim")
    expect(phone.get_by_role("heading", name="校友认证")).to_be_visible()
    assert_accessible(phone, "site-claim")

    phone.get_by_label("姓名").fill(record["name"])
    phone.get_by_label("届别").fill("2012")
    phone.get_by_label("学号").fill(number + "9")
    phone.get_by_role("button", name="提交认证").click()
    alert = phone.get_by_role("alert")
    expect(alert).to_be_visible()
    assert "{" not in alert.inner_text()

    phone.get_by_label("学号").fill(number)
    phone.get_by_role("button", name="提交认证").click()
    expect(phone.get_by_label("验证码")).to_be_visible()
    assert_accessible(phone, "site-claim-code")
    mail = wait_for(
        lambda: [m for m in mails_to(portal.var_dir, email) if m["Subject"] == "校友认证验证码"],
        what="the verification code mail",
    )[-1]
    code = re.search(r"验证码为 (\d{6})", mail.get_body(("plain",)).get_content())[1]
    username = unique("claimed")
    phone.get_by_label("验证码").fill(code)
    phone.get_by_label("用户名").fill(username)
    phone.get_by_label("密码").fill(PASSWORD)
    phone.get_by_role("button", name="开通账号").click()
    expect(phone.get_by_text(f"账号 {username} 已开通。")).to_be_visible()
    phone.get_by_role("button", name="去登录").click()
    log_in(phone, username)
    expect(phone.get_by_role("heading", name="我的")).to_be_visible()


def test_every_site_page_passes_axe(phone: Page, portal, office, department):
    record, username = office.alumnus_login(department["id"], city="上海", industry="金融")
    story = office.published_story(record["id"])
    chapter = office.call(
        "POST",
        "/api/v1/chapters",
        201,
        name="上海校友会" + unique("")[:4],
        kind="regional",
        city="上海",
        founded_on="2015-01-01",
    )
    office.call("POST", f"/api/v1/chapters/{chapter['id']}/confirm", confirmed_on="2015-03-01")

    for path, heading, name in [
        ("/#/", "校友之家", "site-home"),
        ("/#/stories", "校友风采", "site-stories"),
        (f"/#/stories/{story['id']}", story["title"], "site-story"),
        ("/#/funds", "教育基金", "site-funds-public"),
        ("/#/honour-roll", "捐赠芳名录", "site-honour-roll-public"),
        ("/#/no-such-page", "页面不存在", "site-not-found"),
        ("/#/login", "校友登录", "site-login"),
    ]:
        phone.goto(path)
        expect(phone.get_by_role("heading", name=heading)).to_be_visible()
        assert_accessible(phone, name)

    log_in(phone, username)
    expect(phone.get_by_role("heading", name="我的")).to_be_visible()
    assert_accessible(phone, "site-me")

    phone.goto("/#/me/card")
    phone.get_by_role("button", name="申请电子校友卡").click()
    expect(phone.get_by_text("申请已提交")).to_be_visible()
    assert_accessible(phone, "site-card-applied")
    cards = ok(office.client.get("/api/v1/cards", params={"status": "applied"}))["items"]
    (mine,) = [c for c in cards if c["alumnus_id"] == record["id"]]
    office.call("POST", f"/api/v1/cards/{mine['id']}/approve")
    phone.reload()
    expect(phone.get_by_role("img", name=f"{record['name']}的电子校友卡二维码")).to_be_visible()
    assert qr_text(phone).count(".") == 2  # the signed card token (a JWT)
    assert_accessible(phone, "site-card")

    phone.goto("/#/me/notifications")
    expect(phone.get_by_text(re.compile(r"未读 \d+ 条"))).to_be_visible()
    assert_accessible(phone, "site-notifications")

    phone.goto("/#/suggestions")
    phone.get_by_label("主题").fill("希望多办校友讲座")
    phone.get_by_label("内容").fill("建议每学期请校友回校做一次讲座。")
    phone.get_by_role("button", name="提交").click()
    expect(phone.get_by_text("已提交，感谢您的建议。")).to_be_visible()
    expect(phone.get_by_text("希望多办校友讲座")).to_be_visible()
    assert_accessible(phone, "site-suggestions")

    phone.goto("/#/service-requests")
    phone.get_by_label("单位名称").fill("校友科技有限公司")
    phone.get_by_label("需求说明").fill("需要培训十名软件工程师。")
    phone.get_by_role("button", name="提交申请").click()
    expect(phone.get_by_text("申请已提交。")).to_be_visible()
    assert_accessible(phone, "site-service-requests")

    phone.goto("/#/visits")
    visit_day = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
    phone.get_by_label("返校日期").fill(visit_day)
    phone.get_by_label("来访目的").fill("毕业十周年返校参观")
    phone.get_by_label("联系电话").fill("13812345678")
    phone.get_by_role("button", name="提交预约").click()
    expect(phone.get_by_text("预约已提交，审核后会通知您。")).to_be_visible()
    expect(phone.get_by_text(visit_day).first).to_be_visible()
    assert_accessible(phone, "site-visits")

    phone.goto("/#/chapters")
    expect(phone.get_by_text("校友总会").or_(phone.get_by_text("同城")).first).to_be_visible()
    assert_accessible(phone, "site-chapters")

    phone.goto("/#/directory")
    phone.get_by_label("姓名").fill(record["name"])
    phone.get_by_role("button", name="查找").click()
    expect(phone.get_by_text(record["name"]).first).to_be_visible()
    assert_accessible(phone, "site-directory-search")

    for path, title in [
        ("/#/events", "校友活动"),
        ("/#/me/registrations", "我的报名"),
        ("/#/me/gifts", "我的捐赠"),
        ("/#/me/profile", "我的资料"),
        ("/#/me/consent", "消息订阅"),
        ("/#/me/vouches", "同学认证担保"),
        ("/#/give", "我要捐赠"),
    ]:
        phone.goto(path)
        expect(phone.get_by_role("heading", name=title)).to_be_visible()
        expect(phone.get_by_role("status").filter(has_text="加载中")).to_have_count(0)
        assert_accessible(phone, "site" + path.replace("/#", "").replace("/", "-"))


def test_the_site_works_from_the_keyboard(phone: Page, portal, office, department):
    _, username = office.alumnus_login(department["id"])
    phone.goto("/#/login")
    phone.get_by_label("用户名").focus()
    phone.keyboard.type(username)
    phone.keyboard.press("Tab")
    phone.keyboard.type(PASSWORD)
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("heading", name="校友之家")).to_be_visible()

    # Vant's grid items, tab bar items, radios and switches answer Enter and Space.
    phone.get_by_role("button", name=re.compile("校友通讯录")).focus()
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("heading", name="校友通讯录")).to_be_visible()
    phone.get_by_role("radio", name="再显示联系方式").focus()
    phone.keyboard.press(" ")
    expect(phone.get_by_text("已保存：再显示联系方式")).to_be_visible()
    alumnus_client = portal.client().login(username, PASSWORD)
    assert ok(alumnus_client.get("/api/v1/me/directory-privacy"))["level"] == "contacts"

    phone.get_by_role("tab", name=re.compile("我的")).focus()
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("heading", name="我的")).to_be_visible()
    phone.get_by_role("button", name="消息订阅").focus()
    phone.keyboard.press("Enter")
    switch = phone.get_by_role("switch", name="学校动态与简报：短信")
    was = switch.get_attribute("aria-checked") == "true"
    switch.focus()
    phone.keyboard.press(" ")
    expect(switch).to_have_attribute("aria-checked", str(not was).lower())
