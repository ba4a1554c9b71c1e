"""Bodies of the donations service's requests, valid unless a test changes them."""

from __future__ import annotations

from typing import Any

VALID_ID_NUMBER = "11010519491231002X"
"""A resident ID number whose GB 11643 check character is right (the standard's example)."""
BAD_CHECKSUM_ID_NUMBER = "110105194912310021"


def fund_body(**overrides: Any) -> dict[str, Any]:
    return {"name": "校友奖学金", "kind": "scholarship", "goal_fen": 100_000_000, **overrides}


def gift_body(fund_id: str, amount_fen: int = 1_000_000, **overrides: Any) -> dict[str, Any]:
    """An anonymous donor's bank transfer to one fund, unless `donor` says otherwise."""
    return {
        "donor": {"type": "anonymous"},
        "amount_fen": amount_fen,
        "allocations": [{"fund_id": fund_id, "amount_fen": amount_fen}],
        "channel": "bank_transfer",
        **overrides,
    }


def alumnus_donor(alumnus_id: str, **overrides: Any) -> dict[str, Any]:
    return {"type": "alumnus", "alumnus_id": alumnus_id, **overrides}


def organisation_donor(name: str = "某科技有限公司", **overrides: Any) -> dict[str, Any]:
    return {"type": "organisation", "name": name, **overrides}


def agreement_body(donor: dict[str, Any], signer_name: str, **overrides: Any) -> dict[str, Any]:
    return {
        "donor": donor,
        "signer_name": signer_name,
        "purpose": "设立奖学金",
        "signed_on": "2026-01-05",
        **overrides,
    }


def order_body(fund_id: str, donor: dict[str, Any], amount_fen: int = 5_000) -> dict[str, Any]:
    return {
        "donor": donor,
        "amount_fen": amount_fen,
        "allocations": [{"fund_id": fund_id, "amount_fen": amount_fen}],
    }
