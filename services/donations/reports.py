"""What the office and the public read: the honour roll, participation, the annual
disclosure report and the daily reconciliation — all from the gifts and the ledger.

- The **honour roll** lists donations (never membership fees or sponsorship) with what
  is left of them after refunds, each shown as its donor chose: full name, name without
  the amount, “XX级校友”, or anonymous.
- **Participation** is, per department and class year, the alumni who gave ÷ the alumni
  on record, both from the local copy of the registry.
- The **annual disclosure** per fund is opening balance, received, refunded, spent and
  closing balance for a China local calendar year.
- The **daily reconciliation** per channel sums the ledger's cash lines of a day, and
  for online giving sets beside them what the paid orders of that day add up to.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import Session

from services.common.chinatime import china_day_bounds
from services.common.contracts.donations import CHANNELS, CURRENCY
from services.common.paging import page, paged_select
from services.donations import funds, ledger
from services.donations.donors import (
    ALUMNUS,
    ANONYMOUS,
    ANONYMOUS_NAME,
    class_years,
)
from services.donations.models import (
    AlumnusGraduationCopy,
    Fund,
    Gift,
    GiftAllocation,
    LedgerLine,
    PaymentOrder,
)
from services.donations.money import yuan_plain

DONATION = "donation"
BASIS_POINTS = 10_000


# ---- the honour roll ---------------------------------------------------------------------


def honour_roll(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Donations newest first, in the scope asked (a fund, a campaign's funds and dates,
    a year), each with what is left of it in that scope."""
    fund_ids: list[str] | None = None
    first, last = None, None
    if params.get("fund_id"):
        fund_ids = [str(params["fund_id"])]
    if params.get("campaign_id"):
        campaign = funds.campaign_row(session, params["campaign_id"])
        fund_ids = [f for f in campaign.fund_ids if fund_ids is None or f in fund_ids]
        first, last = campaign.starts_on, campaign.ends_on
    if params.get("year"):
        first = max(first or date.min, date(params["year"], 1, 1))
        last = min(last or date.max, date(params["year"], 12, 31))
    net = GiftAllocation.amount_fen - GiftAllocation.refunded_fen
    in_scope = GiftAllocation.gift_seq == Gift.seq
    if fund_ids is not None:
        in_scope = and_(in_scope, GiftAllocation.fund_id.in_(fund_ids))
    amount = select(func.sum(net)).where(in_scope).scalar_subquery()
    query = select(Gift, amount.label("net")).where(Gift.gift_type == DONATION, amount > 0)
    if first is not None:
        query = query.where(Gift.received_on >= first)
    if last is not None:
        query = query.where(Gift.received_on <= last)
    rows = session.execute(paged_select(query, [Gift.seq], params, (int,), descending=True)).all()
    return page(
        rows, params["limit"], lambda r: [r[0].seq], lambda rs: _roll_entries(session, rs, fund_ids)
    )


def _roll_entries(session: Session, rows, fund_ids: list[str] | None) -> list[dict[str, Any]]:
    gifts = [gift for gift, _ in rows]
    years = class_years(
        session, {g.donor_alumnus_id for g in gifts if g.disclosure == "class_year"}
    )
    names: dict[int, list[str]] = {}
    allocations = select(GiftAllocation.gift_seq, Fund.name).join(
        Fund, Fund.id == GiftAllocation.fund_id
    )
    if fund_ids is not None:
        allocations = allocations.where(GiftAllocation.fund_id.in_(fund_ids))
    for gift_seq, fund_name in session.execute(
        allocations.where(GiftAllocation.gift_seq.in_([g.seq for g in gifts])).order_by(
            GiftAllocation.seq
        )
    ):
        names.setdefault(gift_seq, []).append(fund_name)
    return [
        {
            "gift_id": gift.id,
            "display_name": display_name(gift, years),
            "amount_fen": None if gift.disclosure == "amount_hidden" else int(net),
            "currency": gift.currency,
            "fund_names": names.get(gift.seq, []),
            "received_on": gift.received_on.isoformat(),
        }
        for gift, net in rows
    ]


def display_name(gift: Gift, years: dict[str, int]) -> str:
    """The donor as they chose to be shown."""
    if gift.disclosure == "anonymous" or gift.donor_type == ANONYMOUS:
        return ANONYMOUS_NAME
    if gift.disclosure == "class_year" and gift.donor_type == ALUMNUS:
        year = years.get(gift.donor_alumnus_id)
        return f"{year}级校友" if year else "校友"
    return gift.donor_name


# ---- participation ------------------------------------------------------------------------


def participation(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Per (department, class year): alumni on record, those of them who gave a donation
    (in `year`, China local, when given), and the rate in basis points."""
    donors = (
        select(Gift.donor_alumnus_id.label("alumnus_id"))
        .where(Gift.gift_type == DONATION, Gift.donor_alumnus_id.is_not(None))
        .distinct()
    )
    if params.get("year"):
        donors = donors.where(
            Gift.received_on >= date(params["year"], 1, 1),
            Gift.received_on <= date(params["year"], 12, 31),
        )
    donors = donors.subquery()
    graduation = AlumnusGraduationCopy
    query = (
        select(
            graduation.department_id,
            graduation.class_year,
            func.count(distinct(graduation.alumnus_id)),
            func.count(distinct(donors.c.alumnus_id)),
        )
        .outerjoin(donors, donors.c.alumnus_id == graduation.alumnus_id)
        .group_by(graduation.department_id, graduation.class_year)
        .order_by(graduation.department_id, graduation.class_year)
    )
    if params.get("department_id"):
        query = query.where(graduation.department_id == str(params["department_id"]))
    if params.get("class_year"):
        query = query.where(graduation.class_year == params["class_year"])
    return {
        "year": params.get("year"),
        "items": [
            {
                "department_id": department_id,
                "class_year": class_year,
                "alumni": alumni,
                "donors": gave,
                "rate_basis_points": gave * BASIS_POINTS // alumni if alumni else 0,
            }
            for department_id, class_year, alumni, gave in session.execute(query)
        ],
    }


# ---- the annual disclosure report --------------------------------------------------------


def disclosure(session: Session, year: int) -> dict[str, Any]:
    first, last = date(year, 1, 1), date(year, 12, 31)
    owned = -LedgerLine.amount_fen  # fund accounts are credit-normal

    def total(condition):
        return func.coalesce(func.sum(case((condition, owned), else_=0)), 0)

    in_year = and_(LedgerLine.posted_on >= first, LedgerLine.posted_on <= last)
    rows = session.execute(
        select(
            Fund,
            total(LedgerLine.posted_on < first),
            total(and_(in_year, LedgerLine.kind == ledger.GIFT)),
            -total(and_(in_year, LedgerLine.kind == ledger.REFUND)),
            -total(and_(in_year, LedgerLine.kind == ledger.DISBURSEMENT)),
        )
        .outerjoin(LedgerLine, LedgerLine.fund_id == Fund.id)
        .group_by(Fund.seq)
        .order_by(Fund.seq)
    ).all()
    items = []
    for fund, opening, received, refunded, spent in rows:
        items.append(
            {
                "fund_id": fund.id,
                "fund_name": fund.name,
                "kind": fund.kind,
                "opening_balance_fen": int(opening),
                "received_fen": int(received),
                "refunded_fen": int(refunded),
                "spent_fen": int(spent),
                "closing_balance_fen": int(opening) + int(received) - int(refunded) - int(spent),
            }
        )
    return {"year": year, "currency": CURRENCY, "items": items}


CSV_COLUMNS = (
    ("fund_name", "基金"),
    ("kind", "类别"),
    ("opening_balance_fen", "年初余额（元）"),
    ("received_fen", "本年收入（元）"),
    ("refunded_fen", "本年退款（元）"),
    ("spent_fen", "本年支出（元）"),
    ("closing_balance_fen", "年末余额（元）"),
)


def disclosure_csv(report: dict[str, Any]) -> str:
    """The report as CSV for the finance office: amounts in yuan with two decimals (written
    from the integers, never through a float), UTF-8 with a BOM so that Excel reads it."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title for _, title in CSV_COLUMNS])
    for item in report["items"]:
        writer.writerow(
            [yuan_plain(item[key]) if key.endswith("_fen") else item[key] for key, _ in CSV_COLUMNS]
        )
    return out.getvalue()


# ---- the daily reconciliation ------------------------------------------------------------


def reconciliation(session: Session, day: date) -> dict[str, Any]:
    """Per channel, the cash lines posted on `day` (China local): gifts in, refunds and
    disbursements out; for online giving, the paid orders of the day beside them."""
    sums = {
        (account, kind): (count, int(amount))
        for account, kind, count, amount in session.execute(
            select(
                LedgerLine.account,
                LedgerLine.kind,
                func.count(),
                func.sum(LedgerLine.amount_fen),
            )
            .where(LedgerLine.posted_on == day, LedgerLine.account.like("cash:%"))
            .group_by(LedgerLine.account, LedgerLine.kind)
        )
    }
    start, end = china_day_bounds(day)
    provider_paid = int(
        session.execute(
            select(func.coalesce(func.sum(PaymentOrder.amount_fen), 0)).where(
                PaymentOrder.paid_at >= start, PaymentOrder.paid_at < end
            )
        ).scalar_one()
    )
    items = []
    for channel in CHANNELS:
        account = ledger.cash_account(channel)
        gifts, received = sums.get((account, ledger.GIFT), (0, 0))
        refunds, refunded = sums.get((account, ledger.REFUND), (0, 0))
        _, disbursed = sums.get((account, ledger.DISBURSEMENT), (0, 0))
        online = channel == "online"
        items.append(
            {
                "channel": channel,
                "gifts": gifts,
                "received_fen": received,
                "refunds": refunds,
                "refunded_fen": -refunded,
                "disbursed_fen": -disbursed,
                "net_fen": received + refunded + disbursed,
                "provider_paid_fen": provider_paid if online else None,
                "difference_fen": received - provider_paid if online else None,
            }
        )
    return {"date": day.isoformat(), "currency": CURRENCY, "items": items}
