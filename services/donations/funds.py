"""Funds (教育基金 and its sub-funds), campaigns, and disbursements from funds.

What a fund has raised, spent and holds is read from the ledger, never stored on it.
A campaign's progress is what its funds raised (gifts less refunds) between its dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.paging import page, paged_select
from services.donations import ledger
from services.donations.models import Campaign, Disbursement, Fund, LedgerLine

OPEN = "open"
CLOSED = "closed"
BASIS_POINTS = 10_000


def progress(raised_fen: int, goal_fen: int | None) -> int | None:
    """raised ÷ goal in basis points (1/10000), rounded down; None without a goal."""
    if not goal_fen:
        return None
    return max(raised_fen, 0) * BASIS_POINTS // goal_fen


# ---- funds ------------------------------------------------------------------------------


def create_fund(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    fund = Fund(
        name=data["name"],
        kind=data["kind"],
        purpose=data.get("purpose", ""),
        department_id=str(data["department_id"]) if data.get("department_id") else None,
        goal_fen=data.get("goal_fen"),
        currency=data["currency"],
        status=OPEN,
    )
    session.add(fund)
    session.flush()
    return fund_dicts(session, [fund])[0]


def get_fund(session: Session, fund_id: str) -> dict[str, Any]:
    return fund_dicts(session, [fund_row(session, fund_id)])[0]


def fund_row(session: Session, fund_id: str) -> Fund:
    fund = session.scalars(select(Fund).where(Fund.id == str(fund_id))).one_or_none()
    if fund is None:
        raise NotFound("基金不存在。", {"fund_id": str(fund_id)})
    return fund


def list_funds(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Funds in creation order; `visibility` (set by the gateway) limits a caller to open
    funds, or to open funds and their department's."""
    query = select(Fund)
    for name in ("status", "kind", "department_id"):
        if params.get(name) is not None:
            query = query.where(getattr(Fund, name) == str(params[name]))
    visibility = params.get("visibility", "all")
    if visibility == "open":
        query = query.where(Fund.status == OPEN)
    elif visibility == "department":
        query = query.where(
            or_(Fund.status == OPEN, Fund.department_id == str(params["visible_department_id"]))
        )
    rows = session.scalars(paged_select(query, [Fund.seq], params, (int,))).all()
    return page(rows, params["limit"], lambda row: [row.seq], lambda rs: fund_dicts(session, rs))


def close_fund(session: Session, fund_id: str, now: datetime) -> dict[str, Any]:
    fund = fund_row(session, fund_id)
    changed = session.execute(
        update(Fund)
        .where(Fund.seq == fund.seq, Fund.status == OPEN)
        .values(status=CLOSED, closed_at=now)
    ).rowcount
    if changed != 1:
        raise Conflict("基金已关闭。", {"fund_id": fund.id}, reason="fund_closed")
    session.refresh(fund)
    return fund_dicts(session, [fund])[0]


def funds_for_allocations(
    session: Session, fund_ids: Iterable[Any], allow_closed: bool = False
) -> dict[str, Any]:
    """The funds (rows of id, name, department_id, status) a body's allocations name: 422
    for an unknown one, or a closed one unless `allow_closed` (money that has already
    arrived is recorded wherever it was meant to go)."""
    wanted = [str(fund_id) for fund_id in fund_ids]
    funds = {
        row.id: row
        for row in session.connection().execute(
            select(Fund.id, Fund.name, Fund.department_id, Fund.status).where(Fund.id.in_(wanted))
        )
    }
    unknown = [fund_id for fund_id in wanted if fund_id not in funds]
    if unknown:
        raise ValidationFailed(
            "请求数据校验失败。",
            {"fields": {"allocations": ["基金不存在。"]}, "fund_ids": unknown},
            reason="unknown_fund",
        )
    closed = [fund_id for fund_id, fund in funds.items() if fund.status != OPEN]
    if closed and not allow_closed:
        raise ValidationFailed(
            "请求数据校验失败。",
            {"fields": {"allocations": ["基金已关闭，不再接受捐赠。"]}, "fund_ids": closed},
            reason="fund_closed",
        )
    return funds


def fund_dicts(session: Session, funds: list[Fund]) -> list[dict[str, Any]]:
    totals = ledger.fund_totals(session, [fund.id for fund in funds])
    return [
        {
            "id": fund.id,
            "name": fund.name,
            "kind": fund.kind,
            "purpose": fund.purpose,
            "department_id": fund.department_id,
            "goal_fen": fund.goal_fen,
            "currency": fund.currency,
            "status": fund.status,
            "raised_fen": totals[fund.id]["raised"],
            "spent_fen": totals[fund.id]["spent"],
            "balance_fen": totals[fund.id]["balance"],
            "progress_basis_points": progress(totals[fund.id]["raised"], fund.goal_fen),
            "created_at": iso_utc(fund.created_at),
            "closed_at": iso_utc(fund.closed_at) if fund.closed_at else None,
        }
        for fund in funds
    ]


# ---- disbursements ----------------------------------------------------------------------


def disburse(
    session: Session, fund_id: str, data: dict[str, Any], actor: dict[str, Any], today: date
) -> dict[str, Any]:
    """Spend from a fund: never more than it holds. The fund's row is locked first (a no-op
    UPDATE: a row lock on PostgreSQL, the write lock on SQLite), so two disbursements at
    once cannot both pass the balance check."""
    fund = fund_row(session, fund_id)
    session.execute(update(Fund).where(Fund.seq == fund.seq).values(status=Fund.status))
    paid_on = data.get("paid_on") or today
    if paid_on > today:
        raise _future("paid_on")
    balance = ledger.fund_balance(session, fund.id)
    if data["amount_fen"] > balance:
        raise ValidationFailed(
            "支出金额超过基金余额。",
            {"fields": {"amount_fen": ["超过基金余额。"]}, "balance_fen": balance},
            reason="exceeds_balance",
        )
    disbursement = Disbursement(
        fund_id=fund.id,
        amount_fen=data["amount_fen"],
        currency=data["currency"],
        channel=data["channel"],
        purpose=data["purpose"],
        paid_on=paid_on,
        created_by=actor["username"],
    )
    session.add(disbursement)
    session.flush()
    ledger.post(
        session,
        ledger.DISBURSEMENT,
        disbursement.id,
        paid_on,
        [
            ledger.fund(fund.id, data["amount_fen"]),
            ledger.cash(data["channel"], -data["amount_fen"]),
        ],
    )
    return {
        "id": disbursement.id,
        "fund_id": fund.id,
        "amount_fen": disbursement.amount_fen,
        "currency": disbursement.currency,
        "channel": disbursement.channel,
        "purpose": disbursement.purpose,
        "paid_on": paid_on.isoformat(),
        "created_by": disbursement.created_by,
        "created_at": iso_utc(disbursement.created_at),
    }


def _future(field: str) -> ValidationFailed:
    return ValidationFailed(
        "请求数据校验失败。", {"fields": {field: ["日期不能晚于今天。"]}}, reason="future_date"
    )


def not_in_future(day: date | None, today: date, field: str) -> date:
    """`day`, or today when left out; 422 for a day after today (China local)."""
    day = day or today
    if day > today:
        raise _future(field)
    return day


# ---- campaigns --------------------------------------------------------------------------


def create_campaign(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    fund_ids = list(dict.fromkeys(str(fund_id) for fund_id in data["fund_ids"]))
    known = set(session.scalars(select(Fund.id).where(Fund.id.in_(fund_ids))))
    if len(known) != len(fund_ids):
        raise ValidationFailed(
            "请求数据校验失败。", {"fields": {"fund_ids": ["基金不存在。"]}}, reason="unknown_fund"
        )
    campaign = Campaign(
        name=data["name"],
        description=data.get("description", ""),
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        goal_fen=data["goal_fen"],
        currency=data["currency"],
        fund_ids=fund_ids,
    )
    session.add(campaign)
    session.flush()
    return campaign_dict(session, campaign)


def campaign_row(session: Session, campaign_id: str) -> Campaign:
    campaign = session.scalars(
        select(Campaign).where(Campaign.id == str(campaign_id))
    ).one_or_none()
    if campaign is None:
        raise NotFound("筹款活动不存在。", {"campaign_id": str(campaign_id)})
    return campaign


def get_campaign(session: Session, campaign_id: str) -> dict[str, Any]:
    return campaign_dict(session, campaign_row(session, campaign_id))


def list_campaigns(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = paged_select(select(Campaign), [Campaign.seq], params, (int,))
    rows = session.scalars(query).all()
    return page(
        rows,
        params["limit"],
        lambda row: [row.seq],
        lambda rs: [campaign_dict(session, r) for r in rs],
    )


def campaign_raised(session: Session, campaign: Campaign) -> int:
    """Gifts less refunds to the campaign's funds, posted between its dates."""
    total = session.execute(
        select(func.coalesce(func.sum(LedgerLine.amount_fen), 0)).where(
            LedgerLine.fund_id.in_(campaign.fund_ids),
            LedgerLine.kind.in_((ledger.GIFT, ledger.REFUND)),
            LedgerLine.posted_on >= campaign.starts_on,
            LedgerLine.posted_on <= campaign.ends_on,
        )
    ).scalar_one()
    return -int(total)


def campaign_dict(session: Session, campaign: Campaign) -> dict[str, Any]:
    raised = campaign_raised(session, campaign)
    return {
        "id": campaign.id,
        "name": campaign.name,
        "description": campaign.description,
        "starts_on": campaign.starts_on.isoformat(),
        "ends_on": campaign.ends_on.isoformat(),
        "goal_fen": campaign.goal_fen,
        "currency": campaign.currency,
        "fund_ids": list(campaign.fund_ids),
        "raised_fen": raised,
        "progress_basis_points": progress(raised, campaign.goal_fen) or 0,
        "created_at": iso_utc(campaign.created_at),
    }
