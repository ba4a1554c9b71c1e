"""Everything notify assumes about the donations service, in one place.

The donations service is being built beside this one. Its contracts
(services/common/contracts/donations.py, on its branch) are not on this branch yet, so
notify reads its events with provisional schemas of the same shape (the fields notify
reads, nothing more). When the contracts land: drop the four schemas and the `contract=`
of the four handlers in service.py; the `*_context` functions read the same fields.

A donation's receipt is numbered in the gift's transaction and announced by its own
event, `receipt_issued`; a membership fee or a sponsorship never gets one. So the letter
for a donation waits (`waiting`) until the receipt's number is known and its PDF has been
fetched by RPC, outside any transaction and outside the sending path, and stored with the
message (docs/notify.md, "The receipt PDF").

Standard library and marshmallow only.
"""

from __future__ import annotations

import base64
from typing import Any

from marshmallow import EXCLUDE, Schema, fields

from services.common.contracts.base import EventContract
from services.notify.clock import yuan

RECEIPT_PDF_RPC = "receipt_pdf"
"""`donations.receipt_pdf(number)` → {"filename", "pdf_base64"}."""
RECEIPT_CONTENT_TYPE = "application/pdf"
RECEIPTED_GIFT_TYPE = "donation"


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE  # the real payload has more; notify reads only these


class _Donor(_Lenient):
    alumnus_id = fields.String(required=True, allow_none=True)


class _FundAmount(_Lenient):
    fund_id = fields.String(required=True)
    amount_fen = fields.Integer(required=True)


class _Gift(_Lenient):
    id = fields.String(required=True)
    gift_type = fields.String(required=True)
    donor = fields.Nested(_Donor, required=True)
    amount_fen = fields.Integer(required=True, strict=True)
    allocations = fields.List(fields.Nested(_FundAmount), required=True)
    received_on = fields.String(required=True)


class GiftReceived(_Lenient):
    gift = fields.Nested(_Gift, required=True)


class _Receipt(_Lenient):
    number = fields.String(required=True)
    gift_id = fields.String(required=True)


class ReceiptIssued(_Lenient):
    receipt = fields.Nested(_Receipt, required=True)
    donor = fields.Nested(_Donor, required=True)


class _Instalment(_Lenient):
    due_on = fields.String(required=True)
    amount_fen = fields.Integer(required=True, strict=True)
    paid_fen = fields.Integer(required=True, strict=True)


class PledgeInstalmentOverdue(_Lenient):
    pledge_id = fields.String(required=True)
    donor = fields.Nested(_Donor, required=True)
    instalment = fields.Nested(_Instalment, required=True)


class _Naming(_Lenient):
    id = fields.String(required=True)
    name = fields.String(required=True)
    donor = fields.Nested(_Donor, required=True, allow_none=True)


class NamingRenewalDue(_Lenient):
    naming = fields.Nested(_Naming, required=True)
    term_ends_on = fields.String(required=True)


GIFT_RECEIVED = EventContract("gift_received", 1, GiftReceived, "provisional")
RECEIPT_ISSUED = EventContract("receipt_issued", 1, ReceiptIssued, "provisional")
PLEDGE_INSTALMENT_OVERDUE = EventContract(
    "pledge_instalment_overdue", 1, PledgeInstalmentOverdue, "provisional"
)
NAMING_RENEWAL_DUE = EventContract("naming_renewal_due", 1, NamingRenewalDue, "provisional")


def gift_context(data: dict[str, Any]) -> tuple[str | None, dict[str, Any], bool]:
    """(donor alumnus id, template context, whether a receipt will follow) of a gift."""
    gift = data["gift"]
    context = {
        "gift": {
            "id": gift["id"],
            "amount_text": yuan(gift["amount_fen"]),
            "received_on": gift["received_on"],
            "funds_text": "教育基金",
        },
        "receipt": None,
    }
    return gift["donor"]["alumnus_id"], context, gift["gift_type"] == RECEIPTED_GIFT_TYPE


def pledge_context(data: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    instalment = data["instalment"]
    due = instalment["amount_fen"] - instalment["paid_fen"]
    return data["donor"]["alumnus_id"], {
        "instalment": {"due_on": instalment["due_on"], "amount_text": yuan(due)}
    }


def naming_context(data: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    naming = data["naming"]
    donor = naming.get("donor") or {}
    return donor.get("alumnus_id"), {
        "naming": {"title": naming["name"], "term_ends_on": data["term_ends_on"]}
    }


def receipt_file(number: str, answer: dict[str, Any]) -> tuple[str, str, bytes]:
    """(filename, content type, bytes) of the answer of `RECEIPT_PDF_RPC`."""
    return f"捐赠收据-{number}.pdf", RECEIPT_CONTENT_TYPE, base64.b64decode(answer["pdf_base64"])
