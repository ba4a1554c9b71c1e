"""Funds, gifts, receipts, pledges, online orders: who may read and do what.

| | office | committee | liaison | alumnus | anonymous |
|---|---|---|---|---|---|
| funds | all | all | open ones, their department's | open ones | open ones |
| campaigns, honour roll | all | all | all | all | all |
| gifts and their receipts | all | all | to their department's funds | their own | — |
| pledges | all | all | — | their own | — |
| payment orders | all | read | — | create and read their own | — |
| everything else (agreements, in-kind, naming, reports, ledger) | all | read | — | — | — |
| any write but payment orders | yes | — | — | — | — |

What the route's roles say is enforced before the handler runs; this module decides what
depends on the record. A record outside the caller's scope answers 404 with the body an
unknown id gets, so its existence does not leak.
"""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import ALUMNUS, COMMITTEE, LIAISON, OFFICE, own_alumnus_id
from services.common.errors import NotFound, PermissionDenied

READ_ALL = (OFFICE, COMMITTEE)
OPEN = "open"


def reads_all(principal: Principal | None) -> bool:
    return principal is not None and principal.role in READ_ALL


def scope_fund_search(principal: Principal | None, params: dict[str, Any]) -> dict[str, Any]:
    """Which funds a caller lists (contract FundListQuery): all, open ones and their
    department's (a liaison), or open ones only."""
    if reads_all(principal):
        return {**params, "visibility": "all"}
    if principal is not None and principal.role == LIAISON:
        return {
            **params,
            "visibility": "department",
            "visible_department_id": principal.department_id,
        }
    return {**params, "visibility": "open"}


def check_fund_read(principal: Principal | None, fund: dict[str, Any]) -> None:
    """An open fund for anyone; a closed one for those who read all, or its department's
    liaison."""
    if fund["status"] == OPEN or reads_all(principal):
        return
    liaison = principal is not None and principal.role == LIAISON
    if liaison and fund["department_id"] == principal.department_id:
        return
    raise NotFound("基金不存在。", {"fund_id": fund["id"]})


def scope_by_donor_or_department(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """Gift and pledge lists: a liaison sees their department's funds' (asking for another
    department: 403), an alumnus their own (asking for another alumnus: 403)."""
    if principal.role == LIAISON:
        asked = params.get("department_id")
        if asked is not None and str(asked) != principal.department_id:
            raise PermissionDenied("联络员只能查看本院系基金的记录。", reason="other_department")
        return {**params, "department_id": principal.department_id}
    if principal.role == ALUMNUS:
        own = own_alumnus_id(principal)
        asked = params.get("alumnus_id")
        if asked is not None and str(asked) != own:
            raise PermissionDenied("校友只能查看本人的记录。", reason="not_themselves")
        return {**params, "alumnus_id": own}
    return params


def _may_read(principal: Principal, donor: dict[str, Any], department_ids: set[str | None]) -> bool:
    if reads_all(principal):
        return True
    if principal.role == LIAISON:
        return principal.department_id in department_ids
    if principal.role == ALUMNUS:
        return donor.get("alumnus_id") == own_alumnus_id(principal)
    return False


def check_gift_read(principal: Principal, gift: dict[str, Any]) -> None:
    departments = {allocation["department_id"] for allocation in gift["allocations"]}
    if not _may_read(principal, gift["donor"], departments):
        raise NotFound("捐赠记录不存在。", {"gift_id": gift["id"]})


def check_receipt_read(principal: Principal, receipt: dict[str, Any]) -> None:
    if not _may_read(principal, receipt["donor"], set(receipt["department_ids"])):
        raise NotFound("收据不存在。", {"number": receipt["number"]})


def check_pledge_read(principal: Principal, pledge: dict[str, Any]) -> None:
    if not _may_read(principal, pledge["donor"], set()):
        raise NotFound("认捐记录不存在。", {"pledge_id": pledge["id"]})


def check_payment_order_read(principal: Principal, order: dict[str, Any]) -> None:
    if not _may_read(principal, order["donor"], set()):
        raise NotFound("支付订单不存在。", {"payment_order_id": order["id"]})


def payment_order_for(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """An alumnus orders for themselves only (an alumnus donor naming their own record);
    the office for any donor."""
    if principal.role == ALUMNUS:
        donor = body["donor"]
        if donor["type"] != ALUMNUS or donor.get("alumnus_id") != own_alumnus_id(principal):
            raise PermissionDenied(
                "校友只能以本人身份捐赠。", {"field": "donor"}, reason="not_themselves"
            )
    return body
