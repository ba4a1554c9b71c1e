"""The donations service's tables.

Money columns are integers of fen (`*_fen`, BIGINT) with a `currency`; dates of money
records are China local dates. Every table has an internal, increasing `seq` for keyset
paging and, where clients name a record, a UUID `id`.

The ledger (`ledger_transactions`, `ledger_lines`) is append-only: the first migration
adds triggers on both databases that refuse any UPDATE or DELETE of a posted row, so no
code path — this service's or an operator's SQL — can rewrite what was posted. Fund
balances are sums of ledger lines and nothing else.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.common.columns import new_id, utcnow
from services.common.merged_references import MergedReferenceMixin
from services.common.models import service_base

Base = service_base()
OutboxMessage = Base.outbox_model
ProcessedMessage = Base.inbox_model


class DonorColumns:
    """Who gave: `donor_type` alumnus (by `donor_alumnus_id`), organisation (by name, with
    an optional alumnus soft credit) or anonymous; `donor_name` as recorded."""

    donor_type: Mapped[str] = mapped_column(String(20))
    donor_alumnus_id: Mapped[str | None] = mapped_column(String(36), index=True)
    donor_name: Mapped[str | None] = mapped_column(String(100))
    donor_soft_credit_alumnus_id: Mapped[str | None] = mapped_column(String(36))


class Fund(Base):
    """A fund of the education fund (教育基金) or one of its sub-funds."""

    __tablename__ = "funds"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[str | None] = mapped_column(String(36), index=True)
    goal_fen: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Campaign(Base):
    """Funds grouped over a date range with a goal (e.g. an anniversary campaign)."""

    __tablename__ = "campaigns"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    goal_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    fund_ids: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Agreement(DonorColumns, Base):
    """A donation agreement (捐赠协议), as signed and filed."""

    __tablename__ = "agreements"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    signer_name: Mapped[str] = mapped_column(String(100))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    purpose: Mapped[str] = mapped_column(Text)
    signed_on: Mapped[date] = mapped_column(Date)
    document_ref: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Gift(DonorColumns, Base):
    """A gift as received. Never edited or deleted: a refund is a reversing entry."""

    __tablename__ = "gifts"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_gifts_amount_positive"),
        Index("ix_gifts_received_on", "received_on"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    gift_type: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(20))
    received_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    disclosure: Mapped[str] = mapped_column(String(20))
    receipt_name: Mapped[str] = mapped_column(String(100))
    payer_name: Mapped[str] = mapped_column(String(100))
    pledge_id: Mapped[str | None] = mapped_column(String(36), index=True)
    payment_order_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    agreement_id: Mapped[str | None] = mapped_column(String(36))
    # The donor's ID-card number: AES-GCM ciphertext, and its masked form for display.
    id_number_ciphertext: Mapped[str | None] = mapped_column(Text)
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    id_number_consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GiftAllocation(Base):
    """The part of a gift that goes to one fund, and how much of it was refunded since
    (raised by compare-and-set, so two refunds at once can never take more than there is)."""

    __tablename__ = "gift_allocations"
    __table_args__ = (
        UniqueConstraint("gift_seq", "fund_id", name="uq_gift_allocations_gift_fund"),
        CheckConstraint(
            "refunded_fen >= 0 AND refunded_fen <= amount_fen",
            name="ck_gift_allocations_refund_within",
        ),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gift_seq: Mapped[int] = mapped_column(ForeignKey("gifts.seq"), index=True)
    fund_id: Mapped[str] = mapped_column(ForeignKey("funds.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class Refund(Base):
    """A reversing entry of part or all of a gift."""

    __tablename__ = "refunds"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    gift_id: Mapped[str] = mapped_column(ForeignKey("gifts.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    allocations: Mapped[list] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(500))
    refunded_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Disbursement(Base):
    """Money spent from a fund (a scholarship paid out)."""

    __tablename__ = "disbursements"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    fund_id: Mapped[str] = mapped_column(ForeignKey("funds.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(500))
    paid_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LedgerTransaction(Base):
    """One posting: its lines sum to zero. Append-only (database triggers)."""

    __tablename__ = "ledger_transactions"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(String(36), index=True)
    posted_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LedgerLine(Base):
    """A debit (positive) or credit (negative) to one account: `cash:<channel>` for money
    held, `fund:<fund id>` for what a fund owns. Append-only (database triggers)."""

    __tablename__ = "ledger_lines"
    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="ck_ledger_lines_amount_nonzero"),
        Index("ix_ledger_lines_fund_posted", "fund_id", "posted_on"),
        Index("ix_ledger_lines_account_posted", "account", "posted_on"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transaction_seq: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.seq"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    account: Mapped[str] = mapped_column(String(50))
    fund_id: Mapped[str | None] = mapped_column(String(36))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    posted_on: Mapped[date] = mapped_column(Date)


class ReceiptCounter(Base):
    """The last receipt serial of a year; raised in the gift's own transaction, so a
    rolled-back gift leaves no gap."""

    __tablename__ = "receipt_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_serial: Mapped[int] = mapped_column(Integer, default=0)


class Receipt(Base):
    """A donation receipt (捐赠收据). A void is recorded on the row, never deleted; its number
    is never reused. A gift has at most one live (issued) receipt."""

    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("year", "serial", name="uq_receipts_year_serial"),
        Index(
            "uq_receipts_live_per_gift",
            "gift_id",
            unique=True,
            sqlite_where=text("status = 'issued'"),
            postgresql_where=text("status = 'issued'"),
        ),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    gift_id: Mapped[str] = mapped_column(ForeignKey("gifts.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    issued_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    void_reason: Mapped[str | None] = mapped_column(String(500))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_by: Mapped[str | None] = mapped_column(String(50))
    replaces: Mapped[str | None] = mapped_column(String(20))
    ebill_code: Mapped[str | None] = mapped_column(String(50))
    ebill_number: Mapped[str | None] = mapped_column(String(50))
    ebill_check_code: Mapped[str | None] = mapped_column(String(50))
    ebill_issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdempotencyKey(Base):
    """An `Idempotency-Key` with the request it came with and the answer it got, written in
    the same transaction as the record it created."""

    __tablename__ = "idempotency_keys"

    # The operation and, where it is about one record, that record's id ("refund:<gift id>").
    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    owner: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Pledge(DonorColumns, Base):
    """A pledge (认捐) to one fund, paid by gifts that name it."""

    __tablename__ = "pledges"
    __table_args__ = (
        CheckConstraint("paid_fen >= 0 AND paid_fen <= total_fen", name="ck_pledges_paid_within"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    fund_id: Mapped[str] = mapped_column(ForeignKey("funds.id"), index=True)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10))
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PledgeInstalment(Base):
    __tablename__ = "pledge_instalments"
    __table_args__ = (
        UniqueConstraint("pledge_seq", "number", name="uq_pledge_instalments_number"),
        CheckConstraint(
            "paid_fen >= 0 AND paid_fen <= amount_fen", name="ck_pledge_instalments_paid_within"
        ),
        # What the overdue scan reads: unflagged instalments by due date.
        Index("ix_pledge_instalments_overdue_scan", "overdue_flagged_at", "due_on"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    pledge_seq: Mapped[int] = mapped_column(ForeignKey("pledges.seq"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # Set once, by the scan that recorded the instalment's `pledge_instalment_overdue`.
    overdue_flagged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PaymentOrder(DonorColumns, Base):
    """An online gift's order at the payment provider; `gift_id` once its paid notification
    was recorded."""

    __tablename__ = "payment_orders"
    __table_args__ = (Index("ix_payment_orders_status_expires", "status", "expires_at"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    provider: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    allocations: Mapped[list] = mapped_column(JSON)
    disclosure: Mapped[str] = mapped_column(String(20))
    receipt_name: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10))
    code_url: Mapped[str | None] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    gift_id: Mapped[str | None] = mapped_column(String(36))
    provider_transaction_id: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PaymentNotificationLog(Base):
    """Every notification the provider sent, taken or refused, and why."""

    __tablename__ = "payment_notifications"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    out_trade_no: Mapped[str | None] = mapped_column(String(64), index=True)
    provider_transaction_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(String(500), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InkindGift(DonorColumns, Base):
    """An in-kind gift (实物捐赠): received → appraised → in_use | displayed → disposed."""

    __tablename__ = "inkind_gifts"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    item: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(10))
    received_on: Mapped[date] = mapped_column(Date)
    custody_location: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    appraised_value_fen: Mapped[int | None] = mapped_column(BigInteger)
    appraiser: Mapped[str | None] = mapped_column(String(100))
    appraised_on: Mapped[date | None] = mapped_column(Date)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"))
    disclosure: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InkindStep(Base):
    """Each step an in-kind gift reached: who, when, where it was kept."""

    __tablename__ = "inkind_steps"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inkind_seq: Mapped[int] = mapped_column(ForeignKey("inkind_gifts.seq"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    custody_location: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Naming(Base):
    """A naming opportunity (冠名, 认养花木): available → reserved → named → expired."""

    __tablename__ = "namings"
    __table_args__ = (Index("ix_namings_status_term_end", "status", "term_ends_on"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(200), default="")
    fund_id: Mapped[str] = mapped_column(ForeignKey("funds.id"))
    minimum_gift_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    term_years: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    donor_type: Mapped[str | None] = mapped_column(String(20))
    donor_alumnus_id: Mapped[str | None] = mapped_column(String(36))
    donor_name: Mapped[str | None] = mapped_column(String(100))
    donor_soft_credit_alumnus_id: Mapped[str | None] = mapped_column(String(36))
    plaque_text: Mapped[str | None] = mapped_column(String(50))
    term_starts_on: Mapped[date | None] = mapped_column(Date)
    term_ends_on: Mapped[date | None] = mapped_column(Date)
    # The term end for which `naming_renewal_due` was raised: once per term.
    renewal_flagged_for: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NamingGift(Base):
    """A gift that paid for a naming (or for one of its terms); a gift pays for one only."""

    __tablename__ = "naming_gifts"

    gift_id: Mapped[str] = mapped_column(ForeignKey("gifts.id"), primary_key=True)
    naming_seq: Mapped[int] = mapped_column(ForeignKey("namings.seq"), index=True)


class AlumnusCopy(Base):
    """The registry's alumni as far as donations need them (names, graduations), fed by
    its events; `updated_at` is the registry record's own, so an older event never
    overwrites a newer copy."""

    __tablename__ = "alumni_copy"

    alumnus_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlumnusGraduationCopy(Base):
    """One (department, class year) an alumnus graduated in: what participation counts."""

    __tablename__ = "alumni_copy_graduations"
    __table_args__ = (Index("ix_alumni_copy_graduations_group", "department_id", "class_year"),)

    alumnus_id: Mapped[str] = mapped_column(
        ForeignKey("alumni_copy.alumnus_id", ondelete="CASCADE"), primary_key=True
    )
    department_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    class_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class MergedReference(MergedReferenceMixin, Base):
    """A row moved from an absorbed alumnus to the survivor of a registry merge, so that
    the merge's undo moves back exactly these (services/donations/merges.py)."""
