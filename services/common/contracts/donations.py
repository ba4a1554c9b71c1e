"""Contracts of the donations service: its RPC payloads and the events it publishes.

Money is an integer number of fen (分) everywhere, with `currency: "CNY"`: a `Fen` field
refuses floats (even `100.0`), strings and booleans, so no amount is ever rounded on its
way in. Dates of money records (`received_on`, `issued_on`, …) are China local dates
(Asia/Shanghai) as `YYYY-MM-DD`; instants are UTC ISO 8601.

Events carry what a subscriber needs to act (thank the donor, send the receipt, remind
of an instalment) and never the donor's ID-card number, in any form.
"""

from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validates_schema

from services.common.contracts.base import (
    EventContract,
    Flag,
    Name,
    PageQuery,
    StrictSchema,
    Text,
    in_range,
    length,
    one_of,
)

CURRENCY = "CNY"
MAX_AMOUNT_FEN = 10**12
"""¥10,000,000,000.00: more than any single record of a school foundation will hold."""
FUND_KINDS = ["general", "scholarship", "entrepreneurship", "naming", "tree", "other"]
FUND_STATUSES = ["open", "closed"]
CHANNELS = ["bank_transfer", "cash", "online", "cheque"]
OFFLINE_CHANNELS = ["bank_transfer", "cash", "cheque"]
DONOR_TYPES = ["alumnus", "organisation", "anonymous"]
DISCLOSURES = ["full_name", "amount_hidden", "class_year", "anonymous"]
GIFT_TYPES = ["donation", "membership_fee", "sponsorship"]
"""Only a `donation` gets a donation receipt (捐赠收据); membership fees and sponsorship
never do."""
RECEIPT_STATUSES = ["issued", "void"]
PLEDGE_STATUSES = ["active", "fulfilled"]
PAYMENT_ORDER_STATUSES = ["created", "paid", "expired"]
INKIND_STATUSES = ["received", "appraised", "in_use", "displayed", "disposed"]
NAMING_KINDS = ["building", "room", "tree", "bench", "other"]
NAMING_STATUSES = ["available", "reserved", "named", "expired"]
TREE_TERM_YEARS = 10
MAX_ALLOCATIONS = 20
MAX_INSTALMENTS = 120
MAX_PAGE_SIZE = 100
ID_NUMBER_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_NUMBER_CHECK_CHARACTERS = "10X98765432"
ID_NUMBER_SHAPE = re.compile(r"^\d{17}[\dX]$")
# Plaques carry standard Chinese characters (CJK Unified Ideographs and 〇), the
# middle dot of names such as 买买提·艾力, and no Latin letters or digits of any width.
PLAQUE_TEXT = re.compile(r"^[\u4e00-\u9fff\u3007·]+$")


# ---- money and formats ----------------------------------------------------------


class Fen(fields.Integer):
    """An amount in fen: an integer, never a float or a string, within (0, MAX_AMOUNT_FEN]
    unless `minimum` says otherwise."""

    default_error_messages = {"invalid": "金额应为以分为单位的整数（不接受小数或字符串）。"}

    def __init__(self, minimum: int = 1, **kwargs) -> None:
        kwargs.setdefault("validate", in_range(minimum, MAX_AMOUNT_FEN))
        super().__init__(strict=True, **kwargs)


def currency() -> fields.String:
    return fields.String(load_default=CURRENCY, validate=one_of([CURRENCY]))


def id_number_is_valid(number: str) -> bool:
    """The GB 11643-1999 check character of an 18-digit resident ID number."""
    if not ID_NUMBER_SHAPE.fullmatch(number):
        return False
    total = sum(
        int(digit) * weight for digit, weight in zip(number[:17], ID_NUMBER_WEIGHTS, strict=True)
    )
    return ID_NUMBER_CHECK_CHARACTERS[total % 11] == number[-1]


def check_id_number(value: str) -> None:
    if not id_number_is_valid(value.upper()):
        raise ValidationError("身份证号码格式或校验位不正确。")


def check_plaque_text(value: str) -> None:
    if not PLAQUE_TEXT.fullmatch(value):
        raise ValidationError("铭牌文字只能使用规范汉字，不能含拉丁字母、阿拉伯数字或其他符号。")


def date_text(**kwargs) -> fields.String:
    """A China local date as `YYYY-MM-DD` (in answers and events)."""
    return fields.String(metadata={"format": "date"}, **kwargs)


def instant_text(**kwargs) -> fields.String:
    return fields.String(metadata={"format": "date-time"}, **kwargs)


def _problem(problems: dict[str, list[str]], field: str, message: str) -> None:
    problems.setdefault(field, []).append(message)


# ---- donors ---------------------------------------------------------------------------


class DonorInput(StrictSchema):
    """Who gives: an alumnus (by record; `name` defaults to the registry's), an organisation
    (by name, optionally crediting an alumnus behind it), or an anonymous donor."""

    type = fields.String(required=True, validate=one_of(DONOR_TYPES))
    alumnus_id = fields.UUID(allow_none=True, load_default=None)
    name = Name(allow_none=True, load_default=None, validate=length(1, 100))
    soft_credit_alumnus_id = fields.UUID(allow_none=True, load_default=None)

    @validates_schema
    def _consistent(self, data, **_kwargs) -> None:
        problems: dict[str, list[str]] = {}
        kind = data.get("type")
        if kind == "alumnus" and not data.get("alumnus_id"):
            _problem(problems, "alumnus_id", "校友捐赠须指定校友 ID。")
        if kind == "organisation" and not data.get("name"):
            _problem(problems, "name", "单位捐赠须填写单位名称。")
        if kind != "alumnus" and data.get("alumnus_id"):
            _problem(problems, "alumnus_id", "只有校友捐赠可指定校友 ID。")
        if kind != "organisation" and data.get("soft_credit_alumnus_id"):
            _problem(problems, "soft_credit_alumnus_id", "只有单位捐赠可记入校友名下。")
        if kind == "anonymous" and data.get("name"):
            _problem(problems, "name", "匿名捐赠不填写姓名。")
        if problems:
            raise ValidationError(problems)


class Donor(StrictSchema):
    type = fields.String(required=True, validate=one_of(DONOR_TYPES))
    alumnus_id = fields.String(required=True, allow_none=True)
    name = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "the donor's name as recorded; null for anonymous donors"},
    )
    soft_credit_alumnus_id = fields.String(required=True, allow_none=True)


# ---- funds and campaigns --------------------------------------------------------------


class FundInput(StrictSchema):
    name = Name(required=True, validate=length(1, 100))
    kind = fields.String(required=True, validate=one_of(FUND_KINDS))
    purpose = Text(load_default="", validate=length(max_len=2000))
    department_id = fields.UUID(allow_none=True, load_default=None)
    goal_fen = Fen(allow_none=True, load_default=None)
    currency = currency()


class FundSearch(PageQuery):
    status = fields.String(validate=one_of(FUND_STATUSES))
    kind = fields.String(validate=one_of(FUND_KINDS))
    department_id = fields.UUID()


class FundListQuery(FundSearch):
    """`FundSearch` as the gateway sends it: which funds the caller may see (gateway/authz/
    donations.py): `all`, `open` only, or open ones and those of `visible_department_id`."""

    visibility = fields.String(load_default="all", validate=one_of(["all", "open", "department"]))
    visible_department_id = fields.UUID(allow_none=True, load_default=None)


class Fund(StrictSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=one_of(FUND_KINDS))
    purpose = fields.String(required=True)
    department_id = fields.String(required=True, allow_none=True)
    goal_fen = fields.Integer(required=True, allow_none=True)
    currency = fields.String(required=True)
    status = fields.String(required=True, validate=one_of(FUND_STATUSES))
    raised_fen = fields.Integer(
        required=True, metadata={"description": "gifts less refunds, from the ledger"}
    )
    spent_fen = fields.Integer(required=True, metadata={"description": "disbursements"})
    balance_fen = fields.Integer(required=True, metadata={"description": "raised less spent"})
    progress_basis_points = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "raised ÷ goal in 1/10000 (10000 = 100 %); null without goal"},
    )
    created_at = instant_text(required=True)
    closed_at = instant_text(required=True, allow_none=True)


class DisbursementInput(StrictSchema):
    """Money spent from a fund (a scholarship paid, an award made)."""

    amount_fen = Fen(required=True)
    currency = currency()
    channel = fields.String(required=True, validate=one_of(OFFLINE_CHANNELS))
    purpose = Text(required=True, validate=length(1, 500))
    paid_on = fields.Date(allow_none=True, load_default=None)


class Disbursement(StrictSchema):
    id = fields.String(required=True)
    fund_id = fields.String(required=True)
    amount_fen = fields.Integer(required=True)
    currency = fields.String(required=True)
    channel = fields.String(required=True)
    purpose = fields.String(required=True)
    paid_on = date_text(required=True)
    created_by = fields.String(required=True)
    created_at = instant_text(required=True)


class CampaignInput(StrictSchema):
    name = Name(required=True, validate=length(1, 100))
    description = Text(load_default="", validate=length(max_len=2000))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    goal_fen = Fen(required=True)
    currency = currency()
    fund_ids = fields.List(fields.UUID(), required=True, validate=length(1, 50))

    @validates_schema
    def _dates(self, data, **_kwargs) -> None:
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            raise ValidationError("结束日期不能早于开始日期。", "ends_on")


class Campaign(StrictSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    starts_on = date_text(required=True)
    ends_on = date_text(required=True)
    goal_fen = fields.Integer(required=True)
    currency = fields.String(required=True)
    fund_ids = fields.List(fields.String(), required=True)
    raised_fen = fields.Integer(
        required=True,
        metadata={"description": "gifts less refunds to its funds, received within its dates"},
    )
    progress_basis_points = fields.Integer(required=True)
    created_at = instant_text(required=True)


# ---- gifts, refunds, receipts ------------------------------------------------------------


class AllocationInput(StrictSchema):
    fund_id = fields.UUID(required=True)
    amount_fen = Fen(required=True)


def _check_allocations(data: dict, problems: dict[str, list[str]], total_field: str) -> None:
    allocations = data.get("allocations") or []
    if not allocations or data.get(total_field) is None:
        return
    if sum(a["amount_fen"] for a in allocations) != data[total_field]:
        _problem(problems, "allocations", "各基金分配金额之和须等于捐赠金额。")
    if len({str(a["fund_id"]) for a in allocations}) != len(allocations):
        _problem(problems, "allocations", "同一基金只能分配一次。")


class GiftInput(StrictSchema):
    """A gift as the office records it (online gifts come from the payment provider)."""

    gift_type = fields.String(load_default="donation", validate=one_of(GIFT_TYPES))
    donor = fields.Nested(DonorInput, required=True)
    amount_fen = Fen(required=True)
    currency = currency()
    allocations = fields.List(
        fields.Nested(AllocationInput), required=True, validate=length(1, MAX_ALLOCATIONS)
    )
    channel = fields.String(required=True, validate=one_of(OFFLINE_CHANNELS))
    received_on = fields.Date(
        allow_none=True,
        load_default=None,
        metadata={"description": "China local date; today when left out; never in the future"},
    )
    note = Text(load_default="", validate=length(max_len=1000))
    disclosure = fields.String(load_default="full_name", validate=one_of(DISCLOSURES))
    receipt_name = Name(allow_none=True, load_default=None, validate=length(1, 100))
    payer_name = Name(allow_none=True, load_default=None, validate=length(1, 100))
    pledge_id = fields.UUID(allow_none=True, load_default=None)
    agreement_id = fields.UUID(allow_none=True, load_default=None)
    donor_id_number = fields.String(
        allow_none=True,
        load_default=None,
        validate=check_id_number,
        load_only=True,
        metadata={
            "description": "an individual donor's resident ID number, for the official "
            "receipt only; needs `id_number_consent`"
        },
    )
    id_number_consent = Flag(load_default=False)

    @validates_schema
    def _consistent(self, data, **_kwargs) -> None:
        problems: dict[str, list[str]] = {}
        _check_allocations(data, problems, "amount_fen")
        donor_type = (data.get("donor") or {}).get("type")
        if data.get("donor_id_number"):
            if not data.get("id_number_consent"):
                _problem(problems, "id_number_consent", "收集身份证号码须经捐赠人单独同意。")
            if donor_type != "alumnus" or data.get("gift_type") != "donation":
                _problem(problems, "donor_id_number", "身份证号码仅用于个人捐赠的正式收据。")
        if data.get("disclosure") == "class_year" and donor_type != "alumnus":
            _problem(problems, "disclosure", "只有校友捐赠可显示为“XX级校友”。")
        if problems:
            raise ValidationError(problems)


class GiftSearch(PageQuery):
    fund_id = fields.UUID()
    department_id = fields.UUID(metadata={"description": "gifts to this department's funds"})
    alumnus_id = fields.UUID(metadata={"description": "gifts of this alumnus as donor"})
    channel = fields.String(validate=one_of(CHANNELS))
    received_from = fields.Date()
    received_to = fields.Date()


class AllocationOut(StrictSchema):
    fund_id = fields.String(required=True)
    fund_name = fields.String(required=True)
    department_id = fields.String(required=True, allow_none=True)
    amount_fen = fields.Integer(required=True)
    refunded_fen = fields.Integer(required=True)


class FundAmount(StrictSchema):
    fund_id = fields.String(required=True)
    amount_fen = fields.Integer(required=True)


class GiftSummary(StrictSchema):
    """A gift as events carry it: no note, no ID number, no payer."""

    id = fields.String(required=True)
    gift_type = fields.String(required=True, validate=one_of(GIFT_TYPES))
    donor = fields.Nested(Donor, required=True)
    amount_fen = fields.Integer(required=True)
    currency = fields.String(required=True)
    allocations = fields.List(fields.Nested(FundAmount), required=True)
    channel = fields.String(required=True, validate=one_of(CHANNELS))
    received_on = date_text(required=True)
    disclosure = fields.String(required=True, validate=one_of(DISCLOSURES))
    pledge_id = fields.String(required=True, allow_none=True)
    payment_order_id = fields.String(required=True, allow_none=True)


class Gift(GiftSummary):
    refunded_fen = fields.Integer(required=True)
    allocations = fields.List(fields.Nested(AllocationOut), required=True)
    note = fields.String(required=True)
    receipt_name = fields.String(required=True)
    payer_name = fields.String(required=True)
    agreement_id = fields.String(required=True, allow_none=True)
    donor_id_number_masked = fields.String(
        required=True, allow_none=True, metadata={"example": "3708**********1234"}
    )
    receipt_number = fields.String(
        required=True, allow_none=True, metadata={"description": "the gift's live receipt"}
    )
    created_by = fields.String(required=True)
    created_at = instant_text(required=True)


class RefundAllocationInput(AllocationInput):
    pass


class RefundInput(StrictSchema):
    """A reversing entry. `allocations` say which funds give the money back; left out, the
    refund is spread over the gift's funds in proportion to what is left of each."""

    amount_fen = Fen(required=True)
    currency = currency()
    reason = Text(required=True, validate=length(1, 500))
    allocations = fields.List(
        fields.Nested(RefundAllocationInput),
        allow_none=True,
        load_default=None,
        validate=length(1, MAX_ALLOCATIONS),
    )
    refunded_on = fields.Date(allow_none=True, load_default=None)

    @validates_schema
    def _consistent(self, data, **_kwargs) -> None:
        problems: dict[str, list[str]] = {}
        _check_allocations(data, problems, "amount_fen")
        if problems:
            raise ValidationError(problems)


class RefundSummary(StrictSchema):
    id = fields.String(required=True)
    gift_id = fields.String(required=True)
    amount_fen = fields.Integer(required=True)
    currency = fields.String(required=True)
    allocations = fields.List(fields.Nested(FundAmount), required=True)
    reason = fields.String(required=True)
    refunded_on = date_text(required=True)


class Refund(RefundSummary):
    created_by = fields.String(required=True)
    created_at = instant_text(required=True)


class RefundAnswer(Refund):
    gift = fields.Nested(Gift, required=True, metadata={"description": "the gift after it"})


class EBill(StrictSchema):
    """The official government e-bill (财政电子票据) the foundation issued for a receipt."""

    code = fields.String(required=True, metadata={"description": "票据代码"})
    number = fields.String(required=True, metadata={"description": "票据号码"})
    check_code = fields.String(required=True, metadata={"description": "校验码"})
    issued_at = instant_text(required=True)


class Receipt(StrictSchema):
    number = fields.String(required=True, metadata={"example": "2026-000001"})
    year = fields.Integer(required=True)
    gift_id = fields.String(required=True)
    donor = fields.Nested(Donor, required=True)
    name = fields.String(required=True, metadata={"description": "the name on the receipt"})
    amount_fen = fields.Integer(required=True)
    currency = fields.String(required=True)
    fund_names = fields.List(fields.String(), required=True)
    department_ids = fields.List(fields.String(), required=True)
    issued_on = date_text(required=True)
    status = fields.String(required=True, validate=one_of(RECEIPT_STATUSES))
    void_reason = fields.String(required=True, allow_none=True)
    voided_at = instant_text(required=True, allow_none=True)
    replaces = fields.String(required=True, allow_none=True)
    donor_id_number_masked = fields.String(required=True, allow_none=True)
    certificate_eligible = fields.Boolean(
        required=True, metadata={"description": "at or above the certificate minimum"}
    )
    ebill = fields.Nested(EBill, required=True, allow_none=True)


class ReceiptVoid(StrictSchema):
    reason = Text(required=True, validate=length(1, 500))
    reissue = Flag(
        load_default=False,
        metadata={"description": "issue a new receipt for what remains of the gift at once"},
    )


class PdfDocument(StrictSchema):
    """A PDF over RPC (payloads are JSON, so the bytes travel base64-encoded)."""

    filename = fields.String(required=True)
    pdf_base64 = fields.String(required=True)


# ---- pledges and agreements ----------------------------------------------------------------


class InstalmentInput(StrictSchema):
    due_on = fields.Date(required=True)
    amount_fen = Fen(required=True)


class PledgeInput(StrictSchema):
    donor = fields.Nested(DonorInput, required=True)
    fund_id = fields.UUID(required=True)
    total_fen = Fen(required=True)
    currency = currency()
    instalments = fields.List(
        fields.Nested(InstalmentInput), required=True, validate=length(1, MAX_INSTALMENTS)
    )
    agreement_id = fields.UUID(required=True)
    note = Text(load_default="", validate=length(max_len=1000))

    @validates_schema
    def _consistent(self, data, **_kwargs) -> None:
        instalments = data.get("instalments") or []
        if data.get("total_fen") is not None and instalments:
            if sum(i["amount_fen"] for i in instalments) != data["total_fen"]:
                raise ValidationError("分期金额之和须等于认捐总额。", "instalments")
            dates = [i["due_on"] for i in instalments]
            if dates != sorted(dates) or len(set(dates)) != len(dates):
                raise ValidationError("分期到期日须逐期递增。", "instalments")


class PledgeSearch(PageQuery):
    fund_id = fields.UUID()
    department_id = fields.UUID()
    alumnus_id = fields.UUID()
    status = fields.String(validate=one_of(PLEDGE_STATUSES))


class Instalment(StrictSchema):
    id = fields.String(required=True)
    number = fields.Integer(required=True)
    due_on = date_text(required=True)
    amount_fen = fields.Integer(required=True)
    paid_fen = fields.Integer(required=True)


class PledgeSummary(StrictSchema):
    id = fields.String(required=True)
    donor = fields.Nested(Donor, required=True)
    fund_id = fields.String(required=True)
    total_fen = fields.Integer(required=True)
    currency = fields.String(required=True)
    instalments = fields.List(fields.Nested(Instalment), required=True)
    agreement_id = fields.String(required=True)


class Pledge(PledgeSummary):
    department_id = fields.String(required=True, allow_none=True)
    paid_fen = fields.Integer(required=True)
    status = fields.String(required=True, validate=one_of(PLEDGE_STATUSES))
    note = fields.String(required=True)
    created_at = instant_text(required=True)


class AgreementInput(StrictSchema):
    """A donation agreement (捐赠协议): required above the threshold, for in-kind gifts and for
    pledges. The signer's name must be the payer's and the receipt's."""

    donor = fields.Nested(DonorInput, required=True)
    signer_name = Name(required=True, validate=length(1, 100))
    amount_fen = Fen(allow_none=True, load_default=None)
    currency = currency()
    purpose = Text(required=True, validate=length(1, 2000))
    signed_on = fields.Date(required=True)
    document_ref = Name(
        load_default="", validate=length(max_len=200), metadata={"description": "filing ref"}
    )


class Agreement(StrictSchema):
    id = fields.String(required=True)
    donor = fields.Nested(Donor, required=True)
    signer_name = fields.String(required=True)
    amount_fen = fields.Integer(required=True, allow_none=True)
    currency = fields.String(required=True)
    purpose = fields.String(required=True)
    signed_on = date_text(required=True)
    document_ref = fields.String(required=True)
    created_by = fields.String(required=True)
    created_at = instant_text(required=True)


# ---- online giving -----------------------------------------------------------------------


class PaymentOrderInput(StrictSchema):
    """An online gift's order at the payment provider; the gift is recorded from its
    notification. An alumnus makes orders for themselves only."""

    donor = fields.Nested(DonorInput, required=True)
    amount_fen = Fen(required=True)
    currency = currency()
    allocations = fields.List(
        fields.Nested(AllocationInput), required=True, validate=length(1, MAX_ALLOCATIONS)
    )
    disclosure = fields.String(load_default="full_name", validate=one_of(DISCLOSURES))
    receipt_name = Name(allow_none=True, load_default=None, validate=length(1, 100))
    note = Text(load_default="", validate=length(max_len=1000))

    @validates_schema
    def _consistent(self, data, **_kwargs) -> None:
        problems: dict[str, list[str]] = {}
        _check_allocations(data, problems, "amount_fen")
        if (
            data.get("disclosure") == "class_year"
            and (data.get("donor") or {}).get("type") != "alumnus"
        ):
            _problem(problems, "disclosure", "只有校友捐赠可显示为“XX级校友”。")
        if problems:
            raise ValidationError(problems)


class PaymentOrder(StrictSchema):
    id = fields.String(required=True)
    out_trade_no = fields.String(required=True, metadata={"description": "商户订单号"})
    provider = fields.String(required=True)
    donor = fields.Nested(Donor, required=True)
    amount_fen = fields.Integer(required=True)
    currency = fields.String(required=True)
    allocations = fields.List(fields.Nested(FundAmount), required=True)
    status = fields.String(required=True, validate=one_of(PAYMENT_ORDER_STATUSES))
    code_url = fields.String(
        required=True, allow_none=True, metadata={"description": "what the donor's QR code holds"}
    )
    expires_at = instant_text(required=True)
    gift_id = fields.String(required=True, allow_none=True)
    paid_at = instant_text(required=True, allow_none=True)
    created_at = instant_text(required=True)


class PaymentNotification(StrictSchema):
    """The provider's asynchronous notification as it arrived: its signature headers (names
    lower-cased) and the raw body, which the signature covers byte for byte."""

    headers = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    body = fields.String(required=True, validate=length(max_len=65536))


class NotificationAnswer(StrictSchema):
    """What the provider expects back once the notification is taken (WeChat Pay's shape)."""

    code = fields.String(required=True, metadata={"example": "SUCCESS"})
    message = fields.String(required=True)


# ---- in-kind gifts ----------------------------------------------------------------------


class InkindInput(StrictSchema):
    donor = fields.Nested(DonorInput, required=True)
    item = Name(required=True, validate=length(1, 200))
    description = Text(load_default="", validate=length(max_len=2000))
    quantity = fields.Integer(required=True, strict=True, validate=in_range(1, 1_000_000))
    unit = Name(load_default="件", validate=length(1, 10))
    received_on = fields.Date(allow_none=True, load_default=None)
    custody_location = Name(required=True, validate=length(1, 200))
    agreement_id = fields.UUID(required=True)
    disclosure = fields.String(load_default="full_name", validate=one_of(DISCLOSURES))


class InkindStepInput(StrictSchema):
    """The next step of an in-kind gift: `appraised` needs the value, the appraiser and the
    date; `in_use` / `displayed` may move it (`custody_location`); `disposed` needs a note."""

    status = fields.String(required=True, validate=one_of(INKIND_STATUSES[1:]))
    appraised_value_fen = Fen(allow_none=True, load_default=None)
    appraiser = Name(allow_none=True, load_default=None, validate=length(1, 100))
    appraised_on = fields.Date(allow_none=True, load_default=None)
    custody_location = Name(allow_none=True, load_default=None, validate=length(1, 200))
    note = Text(allow_none=True, load_default=None, validate=length(max_len=1000))

    @validates_schema
    def _consistent(self, data, **_kwargs) -> None:
        problems: dict[str, list[str]] = {}
        if data.get("status") == "appraised":
            for name in ("appraised_value_fen", "appraiser", "appraised_on"):
                if data.get(name) is None:
                    _problem(problems, name, "评估时须填写评估价值、评估人和评估日期。")
        elif any(data.get(n) is not None for n in ("appraised_value_fen", "appraiser")):
            _problem(problems, "status", "评估信息只能在评估这一步填写。")
        if data.get("status") == "disposed" and not data.get("note"):
            _problem(problems, "note", "处置须说明去向。")
        if problems:
            raise ValidationError(problems)


class InkindSearch(PageQuery):
    status = fields.String(validate=one_of(INKIND_STATUSES))


class InkindStep(StrictSchema):
    status = fields.String(required=True, validate=one_of(INKIND_STATUSES))
    note = fields.String(required=True, allow_none=True)
    custody_location = fields.String(required=True)
    actor = fields.String(required=True)
    at = instant_text(required=True)


class InkindSummary(StrictSchema):
    id = fields.String(required=True)
    donor = fields.Nested(Donor, required=True)
    item = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit = fields.String(required=True)
    received_on = date_text(required=True)
    custody_location = fields.String(required=True)
    agreement_id = fields.String(required=True)


class Inkind(InkindSummary):
    description = fields.String(required=True)
    status = fields.String(required=True, validate=one_of(INKIND_STATUSES))
    appraised_value_fen = fields.Integer(required=True, allow_none=True)
    appraiser = fields.String(required=True, allow_none=True)
    appraised_on = date_text(required=True, allow_none=True)
    disclosure = fields.String(required=True, validate=one_of(DISCLOSURES))
    steps = fields.List(fields.Nested(InkindStep), required=True)
    created_at = instant_text(required=True)


# ---- naming opportunities ----------------------------------------------------------------


class NamingInput(StrictSchema):
    kind = fields.String(required=True, validate=one_of(NAMING_KINDS))
    name = Name(required=True, validate=length(1, 200))
    location = Name(load_default="", validate=length(max_len=200))
    fund_id = fields.UUID(required=True)
    minimum_gift_fen = Fen(required=True)
    currency = currency()
    term_years = fields.Integer(
        allow_none=True,
        load_default=None,
        strict=True,
        validate=in_range(1, 100),
        metadata={"description": "null: permanent; trees always run in 10-year terms"},
    )


class NamingSearch(PageQuery):
    kind = fields.String(validate=one_of(NAMING_KINDS))
    status = fields.String(validate=one_of(NAMING_STATUSES))


class NamingReservation(StrictSchema):
    donor = fields.Nested(DonorInput, required=True)
    plaque_text = Name(required=True, validate=[length(1, 50), check_plaque_text])


class NamingGifts(StrictSchema):
    """The gifts that pay for a naming (complete) or for its next term (renew)."""

    gift_ids = fields.List(fields.UUID(), required=True, validate=length(1, 50))


class NamingSummary(StrictSchema):
    id = fields.String(required=True)
    kind = fields.String(required=True, validate=one_of(NAMING_KINDS))
    name = fields.String(required=True)
    fund_id = fields.String(required=True)
    status = fields.String(required=True, validate=one_of(NAMING_STATUSES))
    donor = fields.Nested(Donor, required=True, allow_none=True)
    plaque_text = fields.String(required=True, allow_none=True)
    term_starts_on = date_text(required=True, allow_none=True)
    term_ends_on = date_text(required=True, allow_none=True)


class Naming(NamingSummary):
    location = fields.String(required=True)
    minimum_gift_fen = fields.Integer(required=True)
    currency = fields.String(required=True)
    term_years = fields.Integer(required=True, allow_none=True)
    gift_ids = fields.List(fields.String(), required=True)
    created_at = instant_text(required=True)


# ---- honour roll and reports -------------------------------------------------------------


class HonourRollQuery(PageQuery):
    fund_id = fields.UUID()
    campaign_id = fields.UUID()
    year = fields.Integer(validate=in_range(2000, 2100))


class HonourRollEntry(StrictSchema):
    gift_id = fields.String(required=True)
    display_name = fields.String(
        required=True, metadata={"description": "as the donor chose: name, “2010级校友”, “匿名”"}
    )
    amount_fen = fields.Integer(
        required=True, allow_none=True, metadata={"description": "null when the donor hid it"}
    )
    currency = fields.String(required=True)
    fund_names = fields.List(fields.String(), required=True)
    received_on = date_text(required=True)


class ParticipationQuery(StrictSchema):
    year = fields.Integer(validate=in_range(2000, 2100))
    department_id = fields.UUID()
    class_year = fields.Integer(validate=in_range(1900, 2100))


class ParticipationRow(StrictSchema):
    department_id = fields.String(required=True)
    class_year = fields.Integer(required=True)
    alumni = fields.Integer(required=True, metadata={"description": "alumni on record"})
    donors = fields.Integer(required=True, metadata={"description": "of them, who gave"})
    rate_basis_points = fields.Integer(required=True, metadata={"description": "1/10000"})


class Participation(StrictSchema):
    year = fields.Integer(required=True, allow_none=True)
    items = fields.List(fields.Nested(ParticipationRow), required=True)


class YearQuery(StrictSchema):
    year = fields.Integer(required=True, validate=in_range(2000, 2100))


class DisclosureRow(StrictSchema):
    fund_id = fields.String(required=True)
    fund_name = fields.String(required=True)
    kind = fields.String(required=True)
    opening_balance_fen = fields.Integer(required=True)
    received_fen = fields.Integer(required=True)
    refunded_fen = fields.Integer(required=True)
    spent_fen = fields.Integer(required=True)
    closing_balance_fen = fields.Integer(required=True)


class Disclosure(StrictSchema):
    year = fields.Integer(required=True)
    currency = fields.String(required=True)
    items = fields.List(fields.Nested(DisclosureRow), required=True)


class CsvDocument(StrictSchema):
    filename = fields.String(required=True)
    csv = fields.String(required=True)


class ReconciliationQuery(StrictSchema):
    date = fields.Date(required=True, metadata={"description": "China local date"})


class ReconciliationRow(StrictSchema):
    channel = fields.String(required=True, validate=one_of(CHANNELS))
    gifts = fields.Integer(required=True)
    received_fen = fields.Integer(required=True)
    refunds = fields.Integer(required=True)
    refunded_fen = fields.Integer(required=True)
    disbursed_fen = fields.Integer(required=True)
    net_fen = fields.Integer(required=True)
    provider_paid_fen = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "online only: what the paid orders of the day add up to"},
    )
    difference_fen = fields.Integer(
        required=True, allow_none=True, metadata={"description": "online only: ledger − orders"}
    )


class Reconciliation(StrictSchema):
    date = date_text(required=True)
    currency = fields.String(required=True)
    items = fields.List(fields.Nested(ReconciliationRow), required=True)


class AccountBalance(StrictSchema):
    account = fields.String(required=True, metadata={"example": "fund:<id>, cash:online"})
    balance_fen = fields.Integer(required=True, metadata={"description": "debits − credits"})


class TrialBalance(StrictSchema):
    accounts = fields.List(fields.Nested(AccountBalance), required=True)
    total_fen = fields.Integer(required=True, metadata={"description": "0 when balanced"})
    transactions = fields.Integer(required=True)
    unbalanced_transactions = fields.Integer(required=True)


# ---- event payloads ------------------------------------------------------------------------


class GiftReceivedData(StrictSchema):
    gift = fields.Nested(GiftSummary, required=True)


class GiftRefundedData(StrictSchema):
    refund = fields.Nested(RefundSummary, required=True)
    gift = fields.Nested(GiftSummary, required=True)
    remaining_fen = fields.Integer(
        required=True, metadata={"description": "what is left of the gift after the refund"}
    )


class ReceiptSummary(StrictSchema):
    number = fields.String(required=True)
    year = fields.Integer(required=True)
    gift_id = fields.String(required=True)
    name = fields.String(required=True)
    amount_fen = fields.Integer(required=True)
    currency = fields.String(required=True)
    issued_on = date_text(required=True)
    replaces = fields.String(
        required=True, allow_none=True, metadata={"description": "the voided receipt it replaces"}
    )


class ReceiptIssuedData(StrictSchema):
    receipt = fields.Nested(ReceiptSummary, required=True)
    donor = fields.Nested(Donor, required=True)


class PledgeCreatedData(StrictSchema):
    pledge = fields.Nested(PledgeSummary, required=True)


class PledgeInstalmentOverdueData(StrictSchema):
    pledge_id = fields.String(required=True)
    fund_id = fields.String(required=True)
    donor = fields.Nested(Donor, required=True)
    instalment = fields.Nested(Instalment, required=True)
    currency = fields.String(required=True)


class InkindReceivedData(StrictSchema):
    inkind = fields.Nested(InkindSummary, required=True)


class NamingReservedData(StrictSchema):
    naming = fields.Nested(NamingSummary, required=True)


class NamingCompletedData(StrictSchema):
    naming = fields.Nested(NamingSummary, required=True)
    gift_ids = fields.List(fields.String(), required=True)


class NamingRenewalDueData(StrictSchema):
    naming = fields.Nested(NamingSummary, required=True)
    term_ends_on = date_text(required=True)


EVENTS = (
    EventContract(
        "gift_received",
        1,
        GiftReceivedData,
        "A gift was recorded (by the office, or from the payment provider's notification for "
        "an online gift); sent once per gift.",
    ),
    EventContract(
        "gift_refunded",
        1,
        GiftRefundedData,
        "Part or all of a gift was refunded: a reversing entry; `data.remaining_fen` is what "
        "is left of the gift.",
    ),
    EventContract(
        "receipt_issued",
        1,
        ReceiptIssuedData,
        "A donation receipt (捐赠收据) was numbered; `data.receipt.replaces` names the voided "
        "receipt a partial refund replaced.",
    ),
    EventContract(
        "pledge_created",
        1,
        PledgeCreatedData,
        "A pledge (认捐) with its instalment schedule was recorded.",
    ),
    EventContract(
        "pledge_instalment_overdue",
        1,
        PledgeInstalmentOverdueData,
        "An instalment passed its due date (Beijing time) without being paid in full; sent "
        "once per instalment.",
    ),
    EventContract(
        "inkind_received",
        1,
        InkindReceivedData,
        "An in-kind gift (实物捐赠) was received and put in custody.",
    ),
    EventContract(
        "naming_reserved",
        1,
        NamingReservedData,
        "A naming opportunity (冠名, 认养花木) was reserved for a donor, with its plaque text.",
    ),
    EventContract(
        "naming_completed",
        1,
        NamingCompletedData,
        "A reserved naming was paid for and named; its term runs from `term_starts_on`.",
    ),
    EventContract(
        "naming_renewal_due",
        1,
        NamingRenewalDueData,
        "A named term (a tree adoption's 10 years) ends within 90 days; sent once per term.",
    ),
)
