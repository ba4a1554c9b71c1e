"""Routes of the donations service: funds and campaigns, gifts and refunds (with
`Idempotency-Key`), receipts and their PDFs, agreements, pledges, online payment orders
and the provider's notification, in-kind gifts, naming opportunities, the honour roll,
reports and the ledger. Who may do what: gateway/authz/donations.py.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from gateway.auth import Principal
from gateway.authz import donations as rules
from gateway.authz.base import ALL_ROLES, ALUMNUS, OFFICE
from gateway.http import api
from gateway.routes.lookups import RegistryLookups
from services.common.contracts import donations as dn
from services.common.contracts.base import PageQuery
from services.common.errors import BadRequest, ValidationFailed

READERS = rules.READ_ALL
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")
NOTIFICATION_HEADER_PREFIX = "wechatpay-"
FUND = "/api/v1/funds/{fund_id}"
CAMPAIGN = "/api/v1/campaigns/{campaign_id}"
GIFT = "/api/v1/gifts/{gift_id}"
RECEIPT = "/api/v1/receipts/{number}"
AGREEMENT = "/api/v1/agreements/{agreement_id}"
PLEDGE = "/api/v1/pledges/{pledge_id}"
ORDER = "/api/v1/payment-orders/{order_id}"
INKIND = "/api/v1/inkind/{inkind_id}"
NAMING = "/api/v1/namings/{naming_id}"
IDEMPOTENT = (
    " Send an `Idempotency-Key` header: the same key and body answer the first result "
    "again; the same key with another body is a 409."
)


def idempotency_key(request: Request) -> str | None:
    """The request's `Idempotency-Key` (1–200 visible ASCII characters), if it sent one."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise ValidationFailed(
            "请求数据校验失败。",
            {"fields": {"Idempotency-Key": ["应为 1 到 200 个可见 ASCII 字符。"]}},
            reason="bad_idempotency_key",
        )
    return key


def file_response(content: bytes, content_type: str, filename: str) -> Response:
    return Response(
        content,
        content_type=content_type,
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}"},
    )


class Routes(RegistryLookups):
    donations: Any

    # ---- funds and campaigns ----------------------------------------------------------

    @api(
        "GET",
        "/api/v1/funds",
        "Funds with what they raised, spent and hold (from the ledger): open ones for "
        "everyone; closed ones too for the office, the committee and the fund's liaison.",
        "donations",
        None,
        optional_auth=True,
        query=dn.FundSearch,
        response=dn.Fund,
        many=True,
    )
    def list_funds(self, request: Request, principal: Principal | None, query: dict[str, Any]):
        return self.donations.list_funds(rules.scope_fund_search(principal, query))

    @api(
        "POST",
        "/api/v1/funds",
        "Create a fund (教育基金 or a sub-fund), open.",
        "donations",
        (OFFICE,),
        body=dn.FundInput,
        response=dn.Fund,
        status=201,
    )
    def create_fund(self, request: Request, principal: Principal, body: dict[str, Any]):
        self._known_department(body.get("department_id"), "department_id")
        return self.donations.create_fund(body)

    @api(
        "GET",
        FUND,
        "One fund and its progress.",
        "donations",
        None,
        optional_auth=True,
        response=dn.Fund,
    )
    def get_fund(self, request: Request, principal: Principal | None, fund_id: str):
        fund = self.donations.get_fund(fund_id)
        rules.check_fund_read(principal, fund)
        return fund

    @api(
        "POST",
        FUND + "/close",
        "Close a fund: it takes no more gifts; its books stay.",
        "donations",
        (OFFICE,),
        response=dn.Fund,
    )
    def close_fund(self, request: Request, principal: Principal, fund_id: str):
        return self.donations.close_fund(fund_id)

    @api(
        "POST",
        FUND + "/disbursements",
        "Spend from a fund (a scholarship paid), never more than it holds." + IDEMPOTENT,
        "donations",
        (OFFICE,),
        body=dn.DisbursementInput,
        response=dn.Disbursement,
        status=201,
    )
    def disburse(self, request: Request, principal: Principal, fund_id: str, body: dict[str, Any]):
        return self.donations.disburse(fund_id, body, idempotency_key(request))

    @api(
        "GET",
        "/api/v1/campaigns",
        "Campaigns and their progress.",
        "donations",
        None,
        query=PageQuery,
        response=dn.Campaign,
        many=True,
    )
    def list_campaigns(self, request: Request, query: dict[str, Any]):
        return self.donations.list_campaigns(query)

    @api(
        "POST",
        "/api/v1/campaigns",
        "Create a campaign over some funds and dates, with a goal.",
        "donations",
        (OFFICE,),
        body=dn.CampaignInput,
        response=dn.Campaign,
        status=201,
    )
    def create_campaign(self, request: Request, principal: Principal, body: dict[str, Any]):
        return self.donations.create_campaign(body)

    @api("GET", CAMPAIGN, "One campaign's progress.", "donations", None, response=dn.Campaign)
    def get_campaign(self, request: Request, campaign_id: str):
        return self.donations.get_campaign(campaign_id)

    # ---- gifts and refunds ----------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/gifts",
        "Gifts, newest first: the office and the committee all, a liaison those to their "
        "department's funds, an alumnus their own.",
        "donations",
        ALL_ROLES,
        query=dn.GiftSearch,
        response=dn.Gift,
        many=True,
    )
    def list_gifts(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.donations.list_gifts(rules.scope_by_donor_or_department(principal, query))

    @api(
        "POST",
        "/api/v1/gifts",
        "Record a gift: amounts in fen (integers), allocations summing to the amount; a "
        "donation gets its numbered receipt at once." + IDEMPOTENT,
        "donations",
        (OFFICE,),
        body=dn.GiftInput,
        response=dn.Gift,
        status=201,
    )
    def record_gift(self, request: Request, principal: Principal, body: dict[str, Any]):
        return self.donations.record_gift(body, idempotency_key(request))

    @api("GET", GIFT, "One gift.", "donations", ALL_ROLES, response=dn.Gift)
    def get_gift(self, request: Request, principal: Principal, gift_id: str):
        gift = self.donations.get_gift(gift_id)
        rules.check_gift_read(principal, gift)
        return gift

    @api(
        "POST",
        GIFT + "/refund",
        "Refund part or all of a gift: a reversing entry, never more than is left; the "
        "receipt is voided and, while some remains, replaced." + IDEMPOTENT,
        "donations",
        (OFFICE,),
        body=dn.RefundInput,
        response=dn.RefundAnswer,
        status=201,
    )
    def refund_gift(self, request: Request, principal: Principal, gift_id: str, body: dict):
        return self.donations.refund_gift(gift_id, body, idempotency_key(request))

    # ---- receipts ---------------------------------------------------------------------------

    @api("GET", RECEIPT, "One receipt (捐赠收据).", "donations", ALL_ROLES, response=dn.Receipt)
    def get_receipt(self, request: Request, principal: Principal, number: str):
        return self._readable_receipt(principal, number)

    @api(
        "GET",
        RECEIPT + ".pdf",
        "The receipt as a printable zh-CN PDF.",
        "donations",
        ALL_ROLES,
        content_type="application/pdf",
    )
    def receipt_pdf(self, request: Request, principal: Principal, number: str):
        self._readable_receipt(principal, number)
        document = self.donations.receipt_pdf(number)
        return file_response(
            base64.b64decode(document["pdf_base64"]), "application/pdf", document["filename"]
        )

    @api(
        "GET",
        RECEIPT + "/certificate.pdf",
        "The donation certificate (捐赠证书) of a live receipt at or above the minimum "
        "(409 below it).",
        "donations",
        ALL_ROLES,
        content_type="application/pdf",
        extra_statuses=(409,),
    )
    def certificate_pdf(self, request: Request, principal: Principal, number: str):
        self._readable_receipt(principal, number)
        document = self.donations.certificate_pdf(number)
        return file_response(
            base64.b64decode(document["pdf_base64"]), "application/pdf", document["filename"]
        )

    @api(
        "POST",
        RECEIPT + "/void",
        "Void a receipt (recorded, never deleted; its number is never reused); `reissue` "
        "numbers a new one for what remains of the gift.",
        "donations",
        (OFFICE,),
        body=dn.ReceiptVoid,
        response=dn.Receipt,
    )
    def void_receipt(self, request: Request, principal: Principal, number: str, body: dict):
        return self.donations.void_receipt(number, body)

    @api(
        "POST",
        RECEIPT + "/ebill",
        "Request the official government e-bill (财政电子票据) for a live receipt and keep "
        "its code, number and check code (asked again, the same bill).",
        "donations",
        (OFFICE,),
        response=dn.Receipt,
    )
    def issue_ebill(self, request: Request, principal: Principal, number: str):
        return self.donations.issue_ebill(number)

    def _readable_receipt(self, principal: Principal, number: str) -> dict[str, Any]:
        receipt = self.donations.get_receipt(number)
        rules.check_receipt_read(principal, receipt)
        return receipt

    # ---- agreements and pledges -------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/agreements",
        "Donation agreements (捐赠协议), newest first.",
        "donations",
        READERS,
        query=PageQuery,
        response=dn.Agreement,
        many=True,
    )
    def list_agreements(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.donations.list_agreements(query)

    @api(
        "POST",
        "/api/v1/agreements",
        "File a signed donation agreement.",
        "donations",
        (OFFICE,),
        body=dn.AgreementInput,
        response=dn.Agreement,
        status=201,
    )
    def create_agreement(self, request: Request, principal: Principal, body: dict[str, Any]):
        return self.donations.create_agreement(body)

    @api("GET", AGREEMENT, "One agreement.", "donations", READERS, response=dn.Agreement)
    def get_agreement(self, request: Request, principal: Principal, agreement_id: str):
        return self.donations.get_agreement(agreement_id)

    @api(
        "GET",
        "/api/v1/pledges",
        "Pledges, newest first: the office and the committee all, an alumnus their own.",
        "donations",
        (*READERS, ALUMNUS),
        query=dn.PledgeSearch,
        response=dn.Pledge,
        many=True,
    )
    def list_pledges(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.donations.list_pledges(rules.scope_by_donor_or_department(principal, query))

    @api(
        "POST",
        "/api/v1/pledges",
        "Record a pledge with its instalments (on a donation agreement); gifts naming it pay it.",
        "donations",
        (OFFICE,),
        body=dn.PledgeInput,
        response=dn.Pledge,
        status=201,
    )
    def create_pledge(self, request: Request, principal: Principal, body: dict[str, Any]):
        return self.donations.create_pledge(body)

    @api("GET", PLEDGE, "One pledge.", "donations", (*READERS, ALUMNUS), response=dn.Pledge)
    def get_pledge(self, request: Request, principal: Principal, pledge_id: str):
        pledge = self.donations.get_pledge(pledge_id)
        rules.check_pledge_read(principal, pledge)
        return pledge

    # ---- online giving ------------------------------------------------------------------------

    @api(
        "POST",
        "/api/v1/payment-orders",
        "Start an online gift: an order at the payment provider, whose `code_url` the "
        "donor's QR code holds. The gift is recorded when the provider's notification "
        "arrives. An alumnus orders for themselves.",
        "donations",
        (OFFICE, ALUMNUS),
        body=dn.PaymentOrderInput,
        response=dn.PaymentOrder,
        status=201,
        extra_statuses=(503,),
    )
    def create_payment_order(self, request: Request, principal: Principal, body: dict):
        return self.donations.create_payment_order(rules.payment_order_for(principal, body))

    @api(
        "GET",
        ORDER,
        "One payment order and what became of it.",
        "donations",
        (*READERS, ALUMNUS),
        response=dn.PaymentOrder,
    )
    def get_payment_order(self, request: Request, principal: Principal, order_id: str):
        order = self.donations.get_payment_order(order_id)
        rules.check_payment_order_read(principal, order)
        return order

    @api(
        "POST",
        "/api/v1/payments/notify",
        "The payment provider's signed asynchronous notification (WeChat Pay API v3 "
        'shape). Answered `{"code": "SUCCESS"}` once taken (also for a repeat); a bad '
        "signature (400), an unknown order (404) or another amount (409) is refused and "
        "logged, and the provider retries.",
        "donations",
        None,
        response=dn.NotificationAnswer,
        extra_statuses=(400, 404, 409, 413, 503, 504),
    )
    def payment_notification(self, request: Request):
        raw = request.get_data(cache=True)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("通知不是 UTF-8 文本。", reason="bad_encoding") from None
        headers = {
            name.lower(): value
            for name, value in request.headers.items()
            if name.lower().startswith(NOTIFICATION_HEADER_PREFIX)
        }
        return self.donations.payment_notification({"headers": headers, "body": body})

    # ---- in-kind gifts and naming ------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/inkind",
        "In-kind gifts (实物捐赠), newest first.",
        "donations",
        READERS,
        query=dn.InkindSearch,
        response=dn.Inkind,
        many=True,
    )
    def list_inkind(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.donations.list_inkind(query)

    @api(
        "POST",
        "/api/v1/inkind",
        "Receive an in-kind gift (on a donation agreement).",
        "donations",
        (OFFICE,),
        body=dn.InkindInput,
        response=dn.Inkind,
        status=201,
    )
    def receive_inkind(self, request: Request, principal: Principal, body: dict[str, Any]):
        return self.donations.receive_inkind(body)

    @api(
        "GET", INKIND, "One in-kind gift with its steps.", "donations", READERS, response=dn.Inkind
    )
    def get_inkind(self, request: Request, principal: Principal, inkind_id: str):
        return self.donations.get_inkind(inkind_id)

    @api(
        "POST",
        INKIND + "/status",
        "The next step: appraised (value, appraiser, date), in use, displayed, disposed.",
        "donations",
        (OFFICE,),
        body=dn.InkindStepInput,
        response=dn.Inkind,
    )
    def advance_inkind(self, request: Request, principal: Principal, inkind_id: str, body: dict):
        return self.donations.advance_inkind(inkind_id, body)

    @api(
        "GET",
        "/api/v1/namings",
        "Naming opportunities (冠名, 认养花木).",
        "donations",
        READERS,
        query=dn.NamingSearch,
        response=dn.Naming,
        many=True,
    )
    def list_namings(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.donations.list_namings(query)

    @api(
        "POST",
        "/api/v1/namings",
        "Offer a naming opportunity; trees run in 10-year terms.",
        "donations",
        (OFFICE,),
        body=dn.NamingInput,
        response=dn.Naming,
        status=201,
    )
    def create_naming(self, request: Request, principal: Principal, body: dict[str, Any]):
        return self.donations.create_naming(body)

    @api("GET", NAMING, "One naming opportunity.", "donations", READERS, response=dn.Naming)
    def get_naming(self, request: Request, principal: Principal, naming_id: str):
        return self.donations.get_naming(naming_id)

    @api(
        "POST",
        NAMING + "/reserve",
        "Reserve for a donor with the plaque text (standard Chinese characters only).",
        "donations",
        (OFFICE,),
        body=dn.NamingReservation,
        response=dn.Naming,
    )
    def reserve_naming(self, request: Request, principal: Principal, naming_id: str, body: dict):
        return self.donations.reserve_naming(naming_id, body)

    @api(
        "POST",
        NAMING + "/complete",
        "Name it, paid by the donor's gifts to its fund (net at least the minimum).",
        "donations",
        (OFFICE,),
        body=dn.NamingGifts,
        response=dn.Naming,
    )
    def complete_naming(self, request: Request, principal: Principal, naming_id: str, body: dict):
        return self.donations.complete_naming(naming_id, body)

    @api(
        "POST",
        NAMING + "/renew",
        "Another term (trees: 10 years more), paid the same way.",
        "donations",
        (OFFICE,),
        body=dn.NamingGifts,
        response=dn.Naming,
    )
    def renew_naming(self, request: Request, principal: Principal, naming_id: str, body: dict):
        return self.donations.renew_naming(naming_id, body)

    @api(
        "POST",
        NAMING + "/release",
        "Release a reservation, or offer an expired naming again.",
        "donations",
        (OFFICE,),
        response=dn.Naming,
    )
    def release_naming(self, request: Request, principal: Principal, naming_id: str):
        return self.donations.release_naming(naming_id)

    # ---- the honour roll, reports, the ledger -----------------------------------------------

    @api(
        "GET",
        "/api/v1/honour-roll",
        "Donations by fund, campaign or year, each shown as its donor chose (full name, "
        "amount hidden, “XX级校友”, anonymous).",
        "donations",
        None,
        query=dn.HonourRollQuery,
        response=dn.HonourRollEntry,
        many=True,
    )
    def honour_roll(self, request: Request, query: dict[str, Any]):
        return self.donations.honour_roll(query)

    @api(
        "GET",
        "/api/v1/reports/participation",
        "Participation by department and class year: alumni who gave ÷ alumni on record.",
        "donations",
        READERS,
        query=dn.ParticipationQuery,
        response=dn.Participation,
    )
    def participation(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.donations.participation(query)

    @api(
        "GET",
        "/api/v1/reports/disclosure",
        "The annual disclosure report per fund: opening, received, refunded, spent, closing.",
        "donations",
        READERS,
        query=dn.YearQuery,
        response=dn.Disclosure,
    )
    def disclosure(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.donations.disclosure_report(query)

    @api(
        "GET",
        "/api/v1/reports/disclosure.csv",
        "The annual disclosure report as CSV (amounts in yuan, UTF-8 with BOM).",
        "donations",
        READERS,
        query=dn.YearQuery,
        content_type="text/csv",
    )
    def disclosure_csv(self, request: Request, principal: Principal, query: dict[str, Any]):
        document = self.donations.disclosure_csv(query)
        return file_response(
            document["csv"].encode("utf-8"), "text/csv; charset=utf-8", document["filename"]
        )

    @api(
        "GET",
        "/api/v1/reports/reconciliation",
        "The daily reconciliation per channel for the finance office (a Beijing date).",
        "donations",
        READERS,
        query=dn.ReconciliationQuery,
        response=dn.Reconciliation,
    )
    def reconciliation(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.donations.reconciliation(query)

    @api(
        "GET",
        "/api/v1/ledger/trial-balance",
        "Every ledger account's balance; the total is 0 when the books balance.",
        "donations",
        READERS,
        response=dn.TrialBalance,
    )
    def trial_balance(self, request: Request, principal: Principal):
        return self.donations.trial_balance()
