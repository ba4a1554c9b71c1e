"""Everything notify assumes about the donations service, in one place.

The events are checked against the donations service's contracts
(services/common/contracts/donations.py) by `@consumes`; the `*_context` functions read
the fields notify needs from them.

A donation's receipt is numbered in the gift's transaction and announced by its own
event, `receipt_issued`; a membership fee or a sponsorship never gets one. So the letter
for a donation waits (`waiting`) until the receipt's number is known and its PDF has been
fetched by RPC, outside any transaction and outside the sending path, and stored with the
message (docs/notify.md, "The receipt PDF").

Standard library only.
"""

from __future__ import annotations

import base64
from typing import Any

from services.notify.clock import yuan

RECEIPT_PDF_RPC = "receipt_pdf"
"""`donations.receipt_pdf(number)` → {"filename", "pdf_base64"}."""
RECEIPT_CONTENT_TYPE = "application/pdf"
RECEIPTED_GIFT_TYPE = "donation"


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
