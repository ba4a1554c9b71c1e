"""The donations domain on a migrated SQLite file: gifts, refunds, the ledger, receipts,
agreements, pledges, naming, in-kind gifts, online orders and the reports."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from services.common.contracts import donations as contract
from services.common.contracts.base import load_or_raise
from services.common.errors import Conflict, ValidationFailed
from services.donations import (
    funds,
    gifts,
    inkind,
    ledger,
    naming,
    payments,
    pledges,
    receipts,
    reports,
)
from services.donations.adapters.payment import InMemoryPaymentProvider
from services.donations.donors import upsert_alumnus
from services.donations.models import Gift, LedgerLine, PaymentNotificationLog, Receipt
from tests.support.donations_books import NOW, OFFICE, THRESHOLD_FEN, TODAY
from tests.support.donations_data import (
    VALID_ID_NUMBER,
    alumnus_donor,
    order_body,
    organisation_donor,
)

RULES = receipts.ReceiptRules(certificate_minimum_fen=100_000)


def receipt(books, number: str) -> dict:
    return books.run(lambda s: receipts.to_dict(s, receipts.get_row(s, number), RULES))


# ---- gifts, the ledger, receipts ---------------------------------------------------------


def test_a_gift_posts_balanced_lines_gets_receipt_one_and_announces_both(books):
    scholarship, general = books.fund()["id"], books.fund(name="发展基金", kind="general")["id"]
    alumnus = books.alumnus("李雷")
    gift = books.gift(
        scholarship,
        1_000_050,
        donor=alumnus_donor(alumnus),
        allocations=[
            {"fund_id": scholarship, "amount_fen": 1_000_000},
            {"fund_id": general, "amount_fen": 50},
        ],
    )

    assert gift["receipt_number"] == "2026-000001"
    assert gift["donor"]["name"] == "李雷" and gift["receipt_name"] == "李雷"
    assert books.run(ledger.trial_balance)["total_fen"] == 0
    assert books.run(funds.get_fund, scholarship)["balance_fen"] == 1_000_000
    assert books.run(funds.get_fund, general)["balance_fen"] == 50
    [received] = books.events("gift_received")
    assert received["gift"]["id"] == gift["id"]
    assert received["gift"]["allocations"] == [
        {"fund_id": scholarship, "amount_fen": 1_000_000},
        {"fund_id": general, "amount_fen": 50},
    ]
    [issued] = books.events("receipt_issued")
    assert issued["receipt"]["number"] == "2026-000001"
    assert issued["donor"]["alumnus_id"] == alumnus


def test_receipt_numbers_run_per_china_local_year(books):
    fund = books.fund()["id"]
    numbers = [books.gift(fund, today=day)["receipt_number"] for day in (TODAY, TODAY, TODAY)]
    next_year = date(2027, 1, 1)
    numbers.append(books.gift(fund, today=next_year)["receipt_number"])
    assert numbers == ["2026-000001", "2026-000002", "2026-000003", "2027-000001"]


def test_membership_fees_and_sponsorship_get_no_receipt_nor_a_place_on_the_roll(books):
    fund = books.fund()["id"]
    for kind in ("membership_fee", "sponsorship"):
        assert books.gift(fund, gift_type=kind)["receipt_number"] is None
    assert books.count(Receipt) == 0
    roll = books.run(reports.honour_roll, load_or_raise(contract.HonourRollQuery, {}))
    assert roll["items"] == []


def test_a_gift_dated_in_the_future_or_to_a_closed_or_unknown_fund_is_refused(books):
    fund = books.fund()["id"]
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    with pytest.raises(ValidationFailed) as future:
        books.gift(fund, received_on=tomorrow)
    assert future.value.reason == "future_date"
    with pytest.raises(ValidationFailed) as unknown:
        books.gift("00000000-0000-4000-8000-000000000000")
    assert unknown.value.reason == "unknown_fund"
    books.run(funds.close_fund, fund, NOW)
    with pytest.raises(ValidationFailed) as closed:
        books.gift(fund)
    assert closed.value.reason == "fund_closed"
    assert books.count(Gift) == 0 and books.count(LedgerLine) == 0


def test_an_unknown_alumnus_is_refused_and_a_known_one_is_copied_once_asked(books):
    fund = books.fund()["id"]
    with pytest.raises(ValidationFailed) as error:
        books.gift(fund, donor=alumnus_donor("00000000-0000-4000-8000-000000000000"))
    assert error.value.reason == "unknown_alumnus"
    alumnus = books.alumnus("韩梅梅")
    books.gift(fund, donor=alumnus_donor(alumnus))
    del books.alumni[alumnus]  # the registry is not asked again: the copy answers
    assert books.gift(fund, donor=alumnus_donor(alumnus))["donor"]["name"] == "韩梅梅"


def test_the_id_number_is_stored_encrypted_and_shown_masked(books):
    fund = books.fund()["id"]
    gift = books.gift(
        fund,
        donor=alumnus_donor(books.alumnus()),
        donor_id_number=VALID_ID_NUMBER,
        id_number_consent=True,
    )
    assert gift["donor_id_number_masked"] == "1101**********002X"
    stored = books.run(lambda s: s.scalars(select(Gift)).one())
    assert VALID_ID_NUMBER not in stored.id_number_ciphertext
    assert books.cipher.decrypt(stored.id_number_ciphertext, stored.id) == VALID_ID_NUMBER
    with pytest.raises(ValueError):  # bound to its gift: no use on another
        books.cipher.decrypt(stored.id_number_ciphertext, "another-gift")
    number = gift["receipt_number"]
    request = books.run(
        lambda s: receipts.ebill_request(s, receipts.get_row(s, number), books.cipher)
    )
    assert request.payer_id_number == VALID_ID_NUMBER


# ---- refunds ----------------------------------------------------------------------------


def test_a_partial_refund_reverses_voids_the_receipt_and_replaces_it(books):
    fund = books.fund()["id"]
    gift = books.gift(fund, 1_000_000)
    answer = books.refund(gift["id"], 200_000)

    assert answer["gift"]["refunded_fen"] == 200_000
    assert answer["gift"]["receipt_number"] == "2026-000002"
    assert books.run(funds.get_fund, fund)["balance_fen"] == 800_000
    first, second = receipt(books, "2026-000001"), receipt(books, "2026-000002")
    assert first["status"] == "void" and first["void_reason"].startswith("退款")
    assert (second["status"], second["amount_fen"], second["replaces"]) == (
        "issued",
        800_000,
        "2026-000001",
    )
    [refunded] = books.events("gift_refunded")
    assert refunded["remaining_fen"] == 800_000
    assert books.run(ledger.trial_balance)["total_fen"] == 0


def test_a_full_refund_voids_the_receipt_without_a_new_one(books):
    gift = books.gift(books.fund()["id"], 30_000)
    assert books.refund(gift["id"], 30_000)["gift"]["receipt_number"] is None
    assert receipt(books, "2026-000001")["status"] == "void"
    assert books.count(Receipt) == 1


def test_a_refund_beyond_what_is_left_is_refused_and_writes_nothing(books):
    gift = books.gift(books.fund()["id"], 100_000)
    books.refund(gift["id"], 60_000)
    lines = books.count(LedgerLine)
    with pytest.raises(ValidationFailed) as error:
        books.refund(gift["id"], 40_001)
    assert error.value.reason == "refund_exceeds_gift"
    assert error.value.details["refundable_fen"] == 40_000
    assert books.count(LedgerLine) == lines
    assert books.run(gifts.get_gift, gift["id"])["refunded_fen"] == 60_000


def test_a_refund_is_spread_over_the_funds_in_proportion_to_what_is_left(books):
    a, b = books.fund()["id"], books.fund(name="发展基金")["id"]
    gift = books.gift(
        a,
        300,
        allocations=[{"fund_id": a, "amount_fen": 200}, {"fund_id": b, "amount_fen": 100}],
    )
    answer = books.refund(gift["id"], 100)
    assert answer["allocations"] == [
        {"fund_id": a, "amount_fen": 67},
        {"fund_id": b, "amount_fen": 33},
    ]
    named = books.refund(gift["id"], 67, allocations=[{"fund_id": b, "amount_fen": 67}])
    assert named["gift"]["allocations"][1]["refunded_fen"] == 100
    with pytest.raises(ValidationFailed) as error:
        books.refund(gift["id"], 1, allocations=[{"fund_id": b, "amount_fen": 1}])
    assert error.value.reason == "refund_exceeds_gift"


def test_a_voided_receipt_may_be_reissued_for_what_remains(books):
    gift = books.gift(books.fund()["id"], 500_000)
    books.refund(gift["id"], 100_000)
    voided = books.run(receipts.void, "2026-000002", "抬头有误", "office", NOW, TODAY)
    assert voided.status == "void"
    reissued = receipt(books, "2026-000003")
    assert (reissued["amount_fen"], reissued["replaces"]) == (400_000, "2026-000002")
    with pytest.raises(Conflict) as again:
        books.run(receipts.void, "2026-000002", "再次作废", "office", NOW)
    assert again.value.reason == "receipt_void"


# ---- agreements and pledges ----------------------------------------------------------------


def test_gifts_at_the_threshold_need_an_agreement_whose_signer_pays_and_is_named(books):
    fund = books.fund()["id"]
    company = organisation_donor("某科技有限公司")
    with pytest.raises(ValidationFailed) as missing:
        books.gift(fund, THRESHOLD_FEN, donor=company)
    assert missing.value.reason == "agreement_required"
    assert books.gift(fund, THRESHOLD_FEN - 1, donor=company)["agreement_id"] is None

    agreement = books.agreement(company, "某科技有限公司")
    with pytest.raises(ValidationFailed) as mismatch:
        books.gift(
            fund,
            THRESHOLD_FEN,
            donor=company,
            agreement_id=agreement["id"],
            receipt_name="另一家公司",
        )
    assert mismatch.value.reason == "agreement_mismatch"
    assert "receipt_name" in mismatch.value.details["fields"]
    gift = books.gift(fund, THRESHOLD_FEN, donor=company, agreement_id=agreement["id"])
    assert gift["agreement_id"] == agreement["id"]


def test_pledge_payments_fill_instalments_in_order_and_overdue_is_raised_once(books):
    fund = books.fund()["id"]
    company = organisation_donor()
    pledge = books.pledge(fund, company, [("2026-01-31", 100_000), ("2026-06-30", 200_000)])
    assert books.events("pledge_created")[0]["pledge"]["id"] == pledge["id"]

    assert books.run(pledges.flag_overdue, TODAY, NOW) == 1
    assert books.run(pledges.flag_overdue, TODAY, NOW) == 0
    [overdue] = books.events("pledge_instalment_overdue")
    assert overdue["instalment"]["number"] == 1

    books.gift(fund, 150_000, donor=company, pledge_id=pledge["id"])
    paid = [i["paid_fen"] for i in books.run(pledges.get_pledge, pledge["id"])["instalments"]]
    assert paid == [100_000, 50_000]
    with pytest.raises(ValidationFailed) as beyond:
        books.gift(fund, 150_001, donor=company, pledge_id=pledge["id"])
    assert beyond.value.reason == "exceeds_pledge"
    with pytest.raises(ValidationFailed) as stranger:
        books.gift(fund, 1_000, donor=organisation_donor("另一家公司"), pledge_id=pledge["id"])
    assert stranger.value.reason == "pledge_donor_mismatch"

    second = books.gift(fund, 150_000, donor=company, pledge_id=pledge["id"])
    assert books.run(pledges.get_pledge, pledge["id"])["status"] == "fulfilled"
    books.refund(second["id"], 50_000)
    after = books.run(pledges.get_pledge, pledge["id"])
    assert (after["status"], after["paid_fen"]) == ("active", 250_000)
    assert [i["paid_fen"] for i in after["instalments"]] == [100_000, 150_000]


# ---- naming and in-kind gifts --------------------------------------------------------------


def test_a_tree_is_adopted_for_ten_years_and_its_renewal_is_announced_once(books):
    fund = books.fund(name="认养花木基金", kind="tree")["id"]
    alumnus = books.alumnus()
    tree = books.run(
        naming.create,
        load_or_raise(
            contract.NamingInput,
            {"kind": "tree", "name": "银杏一号", "fund_id": fund, "minimum_gift_fen": 100_000},
        ),
    )
    assert tree["term_years"] == 10
    reservation = {"donor": alumnus_donor(alumnus), "plaque_text": "张伟敬植"}
    reserved = books.run(
        naming.reserve,
        tree["id"],
        load_or_raise(contract.NamingReservation, reservation),
        books.lookup,
    )
    assert reserved["status"] == "reserved"
    small = books.gift(fund, 99_999, donor=alumnus_donor(alumnus))
    with pytest.raises(ValidationFailed) as below:
        books.run(naming.complete, tree["id"], [small["id"]], TODAY)
    assert below.value.reason == "below_minimum"
    enough = books.gift(fund, 1, donor=alumnus_donor(alumnus))
    named = books.run(naming.complete, tree["id"], [small["id"], enough["id"]], TODAY)
    assert (named["term_starts_on"], named["term_ends_on"]) == ("2026-03-15", "2036-03-15")

    ends = date(2036, 3, 15)
    assert books.run(naming.flag_renewals_and_expire, ends - timedelta(days=91)) == {
        "renewal_due": 0,
        "expired": 0,
    }
    for _ in range(2):
        books.run(naming.flag_renewals_and_expire, ends - timedelta(days=90))
    assert len(books.events("naming_renewal_due")) == 1
    with pytest.raises(Conflict) as reused:
        books.run(naming.renew, tree["id"], [enough["id"]])
    assert reused.value.reason == "gift_already_used"
    books.run(naming.flag_renewals_and_expire, ends)
    assert books.run(naming.get, tree["id"])["status"] == "expired"


def test_plaque_text_takes_standard_chinese_characters_only():
    body = {"donor": {"type": "anonymous"}}
    for bad in ("Class of 2010", "二〇一〇级A班", "２０１０级", "张伟!"):
        with pytest.raises(ValidationFailed):
            load_or_raise(contract.NamingReservation, {**body, "plaque_text": bad})
    for good in ("二〇一〇级校友敬植", "买买提·艾力"):
        load_or_raise(contract.NamingReservation, {**body, "plaque_text": good})


def test_an_inkind_gift_is_appraised_used_and_disposed_with_each_step_recorded(books):
    company = organisation_donor()
    agreement = books.agreement(company)
    body = {
        "donor": company,
        "item": "三角钢琴",
        "quantity": 1,
        "custody_location": "艺术楼库房",
        "agreement_id": agreement["id"],
    }
    item = books.run(
        inkind.receive,
        load_or_raise(contract.InkindInput, body),
        OFFICE,
        TODAY,
        NOW,
        books.lookup,
    )
    assert books.events("inkind_received")[0]["inkind"]["id"] == item["id"]

    def step(**data):
        payload = load_or_raise(contract.InkindStepInput, data)
        return books.run(inkind.advance, item["id"], payload, OFFICE, TODAY, NOW)

    with pytest.raises(Conflict) as skipped:
        step(status="in_use")
    assert skipped.value.reason == "invalid_transition"
    step(
        status="appraised",
        appraised_value_fen=35_000_000,
        appraiser="某资产评估公司",
        appraised_on="2026-03-10",
    )
    step(status="displayed", custody_location="音乐厅")
    done = step(status="disposed", note="捐赠给附属中学")
    assert [s["status"] for s in done["steps"]] == [
        "received",
        "appraised",
        "displayed",
        "disposed",
    ]
    assert done["appraised_value_fen"] == 35_000_000
    assert done["steps"][2]["custody_location"] == "音乐厅"


# ---- online orders -------------------------------------------------------------------------


def test_a_notification_delivered_again_records_one_gift(books):
    fund = books.fund()["id"]
    alumnus = books.alumnus()
    provider = InMemoryPaymentProvider()
    ctx = books.ctx()
    order = books.run(
        payments.create_order,
        load_or_raise(contract.PaymentOrderInput, order_body(fund, alumnus_donor(alumnus))),
        ctx,
        provider.name,
        900,
    )
    notice = provider.verify_notification(*provider.notify(order["out_trade_no"], 5_000, NOW))
    outcomes = [books.run(payments.receive, notice, ctx).outcome for _ in range(3)]
    assert outcomes == ["accepted", "duplicate", "duplicate"]
    paid = books.run(payments.get_order, order["id"])
    assert paid["status"] == "paid"
    assert books.run(gifts.get_gift, paid["gift_id"])["channel"] == "online"
    assert books.count(Gift) == 1

    wrong = provider.verify_notification(*provider.notify(order["out_trade_no"], 4_999, NOW))
    assert books.run(payments.receive, wrong, ctx).refusal.reason == "amount_mismatch"
    stranger = provider.verify_notification(*provider.notify("DNunknown000", 5_000, NOW))
    assert books.run(payments.receive, stranger, ctx).refusal.reason == "unknown_order"
    logged = books.run(
        lambda s: s.scalars(select(PaymentNotificationLog.outcome).order_by("seq")).all()
    )
    assert logged == ["accepted", "duplicate", "duplicate", "amount_mismatch", "unknown_order"]


def test_unpaid_orders_expire_and_a_late_payment_is_still_recorded(books):
    fund = books.fund()["id"]
    provider = InMemoryPaymentProvider()
    ctx = books.ctx()
    body = load_or_raise(contract.PaymentOrderInput, order_body(fund, {"type": "anonymous"}))
    order = books.run(payments.create_order, body, ctx, provider.name, 60)
    assert books.run(payments.expire_orders, NOW + timedelta(seconds=59)) == []
    assert books.run(payments.expire_orders, NOW + timedelta(seconds=60)) == [order["out_trade_no"]]
    assert books.run(payments.get_order, order["id"])["status"] == "expired"
    notice = provider.verify_notification(*provider.notify(order["out_trade_no"], 5_000, NOW))
    assert books.run(payments.receive, notice, ctx).outcome == "accepted_after_expiry"


def test_online_gifts_at_the_agreement_threshold_are_refused(books):
    fund = books.fund()["id"]
    body = order_body(fund, {"type": "anonymous"}, THRESHOLD_FEN)
    with pytest.raises(ValidationFailed) as error:
        books.run(
            payments.create_order,
            load_or_raise(contract.PaymentOrderInput, body),
            books.ctx(),
            "wechat_pay",
            900,
        )
    assert error.value.reason == "agreement_required"


# ---- the honour roll and the reports -------------------------------------------------------


def test_the_honour_roll_shows_each_donor_as_they_chose(books):
    fund = books.fund()["id"]
    chosen = {
        "full_name": books.alumnus("王芳", class_year=2008),
        "amount_hidden": books.alumnus("赵强"),
        "class_year": books.alumnus("孙丽", class_year=2012),
        "anonymous": books.alumnus("周杰"),
    }
    for disclosure, alumnus in chosen.items():
        books.gift(fund, 10_000, donor=alumnus_donor(alumnus), disclosure=disclosure)
    books.gift(fund, 20_000, donor=organisation_donor("某银行"))
    books.gift(fund, 30_000)
    roll = books.run(reports.honour_roll, load_or_raise(contract.HonourRollQuery, {}))
    shown = [(e["display_name"], e["amount_fen"]) for e in roll["items"]]
    assert shown == [
        ("匿名", 30_000),
        ("某银行", 20_000),
        ("匿名", 10_000),
        ("2012级校友", 10_000),
        ("赵强", None),
        ("王芳", 10_000),
    ]


def test_participation_counts_alumni_who_gave_among_those_on_record(books):
    fund = books.fund()["id"]
    department = "d0000000-0000-4000-8000-000000000001"
    givers = [books.alumnus(department_id=department) for _ in range(2)]
    books.alumnus(department_id=department)
    books.alumnus(department_id=department, class_year=2011)
    for alumnus in givers:
        books.gift(fund, 100, donor=alumnus_donor(alumnus))
    # Alumni are copied once they are asked for; the others come from the registry's events.
    for alumnus_id, record in books.alumni.items():
        if alumnus_id not in givers:
            books.run(upsert_alumnus, record)
    report = books.run(
        reports.participation, load_or_raise(contract.ParticipationQuery, {"year": 2026})
    )
    assert [
        (r["class_year"], r["alumni"], r["donors"], r["rate_basis_points"]) for r in report["items"]
    ] == [
        (2010, 3, 2, 6666),
        (2011, 1, 0, 0),
    ]


def test_disclosure_and_reconciliation_come_from_the_ledger(books):
    fund = books.fund()["id"]
    books.gift(fund, 500_000, today=date(2025, 12, 31))
    gift = books.gift(fund, 300_000, channel="cash")
    books.refund(gift["id"], 100_000)
    payload = load_or_raise(
        contract.DisbursementInput,
        {"amount_fen": 250_000, "channel": "bank_transfer", "purpose": "发放奖学金"},
    )
    books.run(funds.disburse, fund, payload, OFFICE, TODAY)
    with pytest.raises(ValidationFailed) as overspent:
        books.run(funds.disburse, fund, {**payload, "amount_fen": 450_001}, OFFICE, TODAY)
    assert overspent.value.reason == "exceeds_balance"

    [row] = books.run(reports.disclosure, 2026)["items"]
    assert (
        row["opening_balance_fen"],
        row["received_fen"],
        row["refunded_fen"],
        row["spent_fen"],
        row["closing_balance_fen"],
    ) == (500_000, 300_000, 100_000, 250_000, 450_000)
    assert "5000.00,3000.00,1000.00,2500.00,4500.00" in reports.disclosure_csv(
        books.run(reports.disclosure, 2026)
    )
    day = {r["channel"]: r for r in books.run(reports.reconciliation, TODAY)["items"]}
    assert (day["cash"]["received_fen"], day["cash"]["refunded_fen"]) == (300_000, 100_000)
    assert day["bank_transfer"]["disbursed_fen"] == 250_000
    assert day["online"]["difference_fen"] == 0


def test_campaign_progress_counts_its_funds_between_its_dates(books):
    fund = books.fund()["id"]
    books.gift(fund, 100_000, today=date(2026, 2, 28))
    books.gift(fund, 200_000)
    body = {
        "name": "校庆筹款",
        "starts_on": "2026-03-01",
        "ends_on": "2026-12-31",
        "goal_fen": 1_000_000,
        "fund_ids": [fund],
    }
    campaign = books.run(funds.create_campaign, load_or_raise(contract.CampaignInput, body))
    assert (campaign["raised_fen"], campaign["progress_basis_points"]) == (200_000, 2_000)
    with pytest.raises(ValidationFailed):
        load_or_raise(contract.CampaignInput, {**body, "ends_on": "2026-02-01"})
