"""Everything notify assumes about the donations service, in one place.

The donations service is being built beside this one; until its contracts land in
services/common/contracts/donations.py, notify reads its events by the names and fields
its issue states, checked against the provisional schemas below. When the real contracts
land: drop these schemas (the `contract=` of the handlers in service.py), and align the
field names read in the three `*_context` functions and `RECEIPT_PDF_RPC`.

The receipt PDF of a thank-you letter is not in the event (events go to every campus
subscriber); it is fetched by RPC soon after the event is handled, outside any
transaction and outside the sending path, stored with the message, and sent from here
(docs/notify.md, "The receipt PDF").

Standard library and marshmallow only.
"""

from __future__ import annotations

import base64
from typing import Any

from marshmallow import EXCLUDE, Schema, fields

from services.common.contracts.base import EventContract
from services.notify.clock import yuan

RECEIPT_PDF_RPC = "receipt_pdf"
"""`donations.receipt_pdf(number)` → {"content_type", "pdf_base64"}."""
RECEIPT_CONTENT_TYPE = "application/pdf"


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE  # the real payload has more; notify reads only these


class _Allocation(_Lenient):
    fund_name = fields.String()
    amount_fen = fields.Integer(required=True)


class _Gift(_Lenient):
    id = fields.String(required=True)
    donor_alumnus_id = fields.String(allow_none=True, required=True)
    amount_fen = fields.Integer(required=True, strict=True)
    received_on = fields.String(required=True)
    allocations = fields.List(fields.Nested(_Allocation), load_default=list)


class _Receipt(_Lenient):
    number = fields.String(required=True)


class GiftReceived(_Lenient):
    gift = fields.Nested(_Gift, required=True)
    receipt = fields.Nested(_Receipt, allow_none=True, load_default=None)


class _Pledge(_Lenient):
    id = fields.String(required=True)
    donor_alumnus_id = fields.String(allow_none=True, required=True)


class _Instalment(_Lenient):
    due_on = fields.String(required=True)
    amount_fen = fields.Integer(required=True, strict=True)


class PledgeInstalmentOverdue(_Lenient):
    pledge = fields.Nested(_Pledge, required=True)
    instalment = fields.Nested(_Instalment, required=True)


class _Naming(_Lenient):
    id = fields.String(required=True)
    title = fields.String(required=True)
    term_ends_on = fields.String(required=True)
    donor_alumnus_id = fields.String(allow_none=True, required=True)


class NamingRenewalDue(_Lenient):
    naming = fields.Nested(_Naming, required=True)


GIFT_RECEIVED = EventContract("gift_received", 1, GiftReceived, "provisional")
PLEDGE_INSTALMENT_OVERDUE = EventContract(
    "pledge_instalment_overdue", 1, PledgeInstalmentOverdue, "provisional"
)
NAMING_RENEWAL_DUE = EventContract("naming_renewal_due", 1, NamingRenewalDue, "provisional")


def gift_context(data: dict[str, Any]) -> tuple[str | None, dict[str, Any], str | None]:
    """(donor alumnus id, template context, receipt number) of a gift_received."""
    gift = data["gift"]
    funds = "、".join(a["fund_name"] for a in gift.get("allocations", []) if a.get("fund_name"))
    receipt = data.get("receipt")
    context = {
        "gift": {
            "amount_text": yuan(gift["amount_fen"]),
            "received_on": gift["received_on"],
            "funds_text": funds or "教育基金",
        },
        "receipt": {"number": receipt["number"]} if receipt else None,
    }
    return gift["donor_alumnus_id"], context, receipt["number"] if receipt else None


def pledge_context(data: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    instalment = data["instalment"]
    return data["pledge"]["donor_alumnus_id"], {
        "instalment": {
            "due_on": instalment["due_on"],
            "amount_text": yuan(instalment["amount_fen"]),
        }
    }


def naming_context(data: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    naming = data["naming"]
    return naming["donor_alumnus_id"], {
        "naming": {"title": naming["title"], "term_ends_on": naming["term_ends_on"]}
    }


def receipt_file(number: str, answer: dict[str, Any]) -> tuple[str, str, bytes]:
    """(filename, content type, bytes) of the answer of `RECEIPT_PDF_RPC`."""
    content = base64.b64decode(answer["pdf_base64"])
    return f"捐赠收据-{number}.pdf", answer.get("content_type") or RECEIPT_CONTENT_TYPE, content
