"""The donations administration's actions clicked as the office clicks them, each result read
back in the page and from the API: a naming's term renewed with the donor's next gift, a
reservation released, a receipt's government e-bill issued and its donation certificate
downloaded."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import checked
from tests.browser.steps import (
    SERVICE_WAIT,
    alumnus,
    console_login,
    created,
    department,
    fill,
    gift,
    open_dialog,
    submit,
    unique,
)
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME


def reserved_naming(admin, donor: dict, fund: dict, name: str) -> dict:
    """A bench named for two-year terms, reserved for the donor."""
    naming = created(
        admin.post(
            "/api/v1/namings",
            json={
                "kind": "bench",
                "name": name,
                "fund_id": fund["id"],
                "minimum_gift_fen": 50_000,
                "term_years": 2,
            },
        )
    )
    body = {"donor": {"type": "alumnus", "alumnus_id": donor["id"]}, "plaque_text": "饮水思源"}
    return created(admin.post(f"/api/v1/namings/{naming['id']}/reserve", json=body))


def test_office_renews_a_naming_and_releases_a_reservation(portal, desktop):
    admin = portal.admin()
    dept = department(admin)
    donor = alumnus(admin, dept["id"], "冠名校友")
    fund = created(admin.post("/api/v1/funds", json={"name": unique("冠名基金"), "kind": "naming"}))
    first, second = gift(admin, donor, fund, 60_000), gift(admin, donor, fund, 80_000)
    bench = unique("长椅")
    named = reserved_naming(admin, donor, fund, bench)
    named = created(
        admin.post(f"/api/v1/namings/{named['id']}/complete", json={"gift_ids": [first["id"]]})
    )
    ends = named["term_ends_on"]
    renewed_end = f"{int(ends[:4]) + 2}{ends[4:]}"
    other = unique("长椅")
    held = reserved_naming(admin, donor, fund, other)

    console_login(desktop, "/namings", ADMIN_USERNAME, ADMIN_PASSWORD)
    expect(desktop.get_by_role("heading", name="冠名与认养", exact=True)).to_be_visible()
    row = desktop.get_by_role("row").filter(has_text=bench)
    expect(row).to_contain_text(ends, timeout=SERVICE_WAIT)

    # Renewed with the donor's second gift: another two-year term from the end of this one.
    renewal = open_dialog(desktop, f"续期：{bench}", within=row)
    renewal.get_by_text(second["receipt_number"]).click()
    checked(desktop, "console-actions-naming-renew")
    submit(renewal, "确认")
    expect(row).to_contain_text(renewed_end, timeout=SERVICE_WAIT)
    expect(row).to_contain_text("已冠名")
    stored = created(admin.get(f"/api/v1/namings/{named['id']}"))
    assert stored["term_ends_on"] == renewed_end
    assert set(stored["gift_ids"]) == {first["id"], second["id"]}

    # The other reservation released: open to anyone again, the donor and plaque cleared.
    held_row = desktop.get_by_role("row").filter(has_text=other)
    expect(held_row).to_contain_text("已预留")
    confirm = open_dialog(desktop, f"释放：{other}", "释放冠名项目", within=held_row)
    expect(confirm).to_contain_text(f"释放后“{other}”重新开放认领")
    checked(desktop, "console-actions-naming-release")
    confirm.get_by_role("button", name="释放").click()
    expect(held_row).to_contain_text("可认领", timeout=SERVICE_WAIT)
    expect(held_row).not_to_contain_text("饮水思源")
    released = created(admin.get(f"/api/v1/namings/{held['id']}"))
    assert released["status"] == "available" and released["donor"] is None
    checked(desktop, "console-actions-namings")


def test_office_issues_a_receipts_ebill_and_downloads_its_certificate(portal, desktop):
    admin = portal.admin()
    dept = department(admin)
    donor = alumnus(admin, dept["id"], "票据校友")
    fund = created(
        admin.post("/api/v1/funds", json={"name": unique("助学基金"), "kind": "general"})
    )
    number = gift(admin, donor, fund, 150_000)["receipt_number"]  # at least ¥1,000: a certificate

    console_login(desktop, "/receipts", ADMIN_USERNAME, ADMIN_PASSWORD)
    expect(desktop.get_by_role("heading", name="收据管理", exact=True)).to_be_visible()
    receipt = open_dialog(desktop, f"管理收据 {number}", f"捐赠收据 {number}")
    expect(receipt).to_contain_text("未开具", timeout=SERVICE_WAIT)

    # The e-bill, issued by the government platform (its stand-in here), shown at once.
    receipt.get_by_role("button", name="申请财政电子票据").click()
    ebill = receipt.get_by_test_id("ebill")
    expect(ebill).to_contain_text("校验码", timeout=SERVICE_WAIT)
    expect(receipt.get_by_role("button", name="申请财政电子票据")).to_have_count(0)
    stored = created(admin.get(f"/api/v1/receipts/{number}"))["ebill"]
    assert stored and stored["number"] in ebill.inner_text()
    checked(desktop, "console-actions-receipt-ebill")

    with desktop.expect_download() as saved:
        receipt.get_by_role("button", name="下载捐赠证书").click()
    assert saved.value.suggested_filename == f"捐赠证书-{number}.pdf"
    with open(saved.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"

    # A receipt under ¥1,000 offers no certificate.
    small = gift(admin, donor, fund, 20_000)["receipt_number"]
    desktop.keyboard.press("Escape")
    expect(receipt).to_be_hidden()
    fill(desktop, {"收据号": small})
    desktop.get_by_role("button", name="查找").click()
    small_receipt = desktop.get_by_role("dialog", name=f"捐赠收据 {small}")
    expect(small_receipt.get_by_role("button", name="下载收据")).to_be_visible(timeout=SERVICE_WAIT)
    expect(small_receipt.get_by_role("button", name="下载捐赠证书")).to_have_count(0)
