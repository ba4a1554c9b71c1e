"""The staff console's donations pages (web/src/console/pages/donations/) in a real browser
against the real system: the office files a pledge, an in-kind gift and a naming through
the pages and finds them listed, pays out of a fund, voids a receipt, reads the trial
balance, and every page of the area passes axe (each with a screenshot).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import checked
from tests.browser.steps import (
    SERVICE_WAIT,
    alumnus,
    choose,
    console_login,
    created,
    department,
    fill,
    gift,
    open_dialog,
    open_menu,
    submit,
    unique,
)
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME

# The button that sends each of the area's dialogs.
SEND = re.compile("^(保存|预留|确认)$")


def test_office_works_through_pledges_inkind_namings_receipts_and_the_ledger(portal, desktop):
    admin = portal.admin()
    dept = department(admin)
    donor = alumnus(admin, dept["id"], "认捐校友")
    fund = created(admin.post("/api/v1/funds", json={"name": unique("认捐基金"), "kind": "tree"}))
    # The agreement's signer is the donor (the service refuses another name); its filing
    # reference tells it apart in the selects.
    reference = unique("协议")
    created(
        admin.post(
            "/api/v1/agreements",
            json={
                "donor": {"type": "alumnus", "alumnus_id": donor["id"]},
                "signer_name": donor["name"],
                "document_ref": reference,
                "purpose": "校园绿化与奖学金",
                "signed_on": "2026-11-01",
            },
        )
    )
    number = gift(admin, donor, fund, 100_000)["receipt_number"]
    agreement_option = re.compile(re.escape(reference))

    # A pledge in two instalments on the agreement.
    console_login(desktop, "/pledges", ADMIN_USERNAME, ADMIN_PASSWORD)
    expect(desktop.get_by_role("heading", name="认捐", exact=True)).to_be_visible()
    checked(desktop, "console-pledges")
    dialog = open_dialog(desktop, "登记认捐")
    fill(dialog, {"校友 ID": donor["id"]})
    choose(desktop, dialog, "基金", fund["name"])
    choose(desktop, dialog, "捐赠协议", agreement_option)
    fill(dialog, {"第 1 期到期日": "2027-01-15", "第 1 期金额（元）": "1000"})
    dialog.get_by_role("button", name="添加一期").click()
    fill(dialog, {"第 2 期到期日": "2028-01-15", "第 2 期金额（元）": "2000.50"})
    expect(dialog).to_contain_text("认捐总额：3,000.50 元")
    checked(desktop, "console-pledge-new")
    submit(dialog, SEND)
    pledge_row = desktop.get_by_role("row").filter(has_text=fund["name"])
    expect(pledge_row).to_contain_text("3,000.50", timeout=SERVICE_WAIT)
    detail = open_dialog(desktop, re.compile("^认捐详情"), "认捐详情", within=pledge_row)
    expect(detail).to_contain_text("2028-01-15")
    checked(desktop, "console-pledge-detail")
    desktop.keyboard.press("Escape")
    expect(detail).to_be_hidden()

    # An in-kind gift, then appraised.
    open_menu(desktop, "实物捐赠")
    item = unique("校史油画")
    dialog = open_dialog(desktop, "接收实物", "接收实物捐赠")
    fill(dialog, {"校友 ID": donor["id"], "物品": item, "数量": "2", "保管地点": "校史馆库房"})
    choose(desktop, dialog, "捐赠协议", agreement_option)
    checked(desktop, "console-inkind-new")
    submit(dialog, SEND)
    inkind_row = desktop.get_by_role("row").filter(has_text=item)
    expect(inkind_row).to_contain_text("已接收", timeout=SERVICE_WAIT)
    checked(desktop, "console-inkind")
    step = open_dialog(desktop, f"下一步：{item}", within=inkind_row)
    fill(step, {"评估价值（元）": "8000", "评估人": "某评估事务所"})
    checked(desktop, "console-inkind-step")
    submit(step, SEND)
    expect(inkind_row).to_contain_text("8,000.00", timeout=SERVICE_WAIT)

    # A tree to adopt (10-year terms), reserved for the donor and named with their gift.
    open_menu(desktop, "冠名与认养")
    tree = unique("银杏")
    dialog = open_dialog(desktop, "新增冠名项目")
    fill(dialog, {"名称": tree}, exact=True)
    choose(desktop, dialog, "基金", fund["name"])
    fill(dialog, {"最低捐赠（元）": "500"})
    checked(desktop, "console-naming-new")
    submit(dialog, SEND)
    naming_row = desktop.get_by_role("row").filter(has_text=tree)
    expect(naming_row).to_contain_text("可认领", timeout=SERVICE_WAIT)
    expect(naming_row).to_contain_text("10 年")
    checked(desktop, "console-namings")
    reserve = open_dialog(desktop, f"预留：{tree}", within=naming_row)
    fill(reserve, {"校友 ID": donor["id"], "铭牌文字": "饮水思源"})
    submit(reserve, SEND)
    expect(naming_row).to_contain_text("已预留", timeout=SERVICE_WAIT)
    complete = open_dialog(desktop, f"完成冠名：{tree}", within=naming_row)
    complete.get_by_text(number).click()  # the donor's gift to the fund, by its receipt
    checked(desktop, "console-naming-complete")
    submit(complete, SEND)
    expect(naming_row).to_contain_text("已冠名", timeout=SERVICE_WAIT)

    # A disbursement out of the fund the gift went to.
    open_menu(desktop, "基金支出")
    checked(desktop, "console-disbursements")
    choose(desktop, desktop, "基金", re.compile(re.escape(fund["name"])))
    fill(desktop, {"金额（元）": "100", "用途": "树苗与养护"})
    desktop.get_by_role("button", name="确认支出").click()
    expect(
        desktop.locator('[aria-label="本次会话的支出"]')
        .get_by_role("row")
        .filter(has_text="树苗与养护")
    ).to_contain_text("100.00", timeout=SERVICE_WAIT)
    assert created(admin.get(f"/api/v1/funds/{fund['id']}"))["spent_fen"] == 10_000

    # The gift's receipt voided.
    open_menu(desktop, "收据管理")
    checked(desktop, "console-receipts")
    fill(desktop, {"收据号": number})
    desktop.get_by_role("button", name="查找").click()
    receipt = desktop.get_by_role("dialog", name=f"捐赠收据 {number}")
    expect(receipt).to_contain_text("有效", timeout=SERVICE_WAIT)
    receipt.get_by_role("button", name="作废").click()
    fill(receipt, {"作废原因": "抬头有误"})
    checked(desktop, "console-receipt-void")
    receipt.get_by_role("button", name="确认作废").click()
    expect(receipt).to_contain_text("已作废", timeout=SERVICE_WAIT)
    assert created(admin.get(f"/api/v1/receipts/{number}"))["status"] == "void"
    desktop.keyboard.press("Escape")

    # The books balance; the other pages of the area pass axe.
    open_menu(desktop, "财务报表")
    expect(desktop.get_by_test_id("trial-balance-summary")).to_have_text(
        re.compile(r"^\s*借贷平衡"), timeout=SERVICE_WAIT
    )
    expect(desktop.locator('[aria-label="总账科目余额"]')).to_contain_text(fund["name"])
    checked(desktop, "console-finance-reports")
    for menu in ("捐赠协议", "募捐活动"):
        open_menu(desktop, menu)
        checked(desktop, f"console-{desktop.url.split('#/')[-1]}")
    open_menu(desktop, "捐赠协议")
    desktop.get_by_role("row").filter(has_text=reference).get_by_role("button").click()
    expect(desktop.get_by_role("dialog", name="捐赠协议详情")).to_contain_text("校园绿化与奖学金")
    checked(desktop, "console-agreement-detail")
