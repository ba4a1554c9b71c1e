"""Tables of the notify service's own database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.common.access_log import AccessLogMixin
from services.common.columns import new_id, utcnow
from services.common.crypto import INDEX_LENGTH, EncryptedString, blind_index_column_info
from services.common.merged_references import MergedReferenceMixin
from services.common.models import service_base

Base = service_base()
OutboxMessage = Base.outbox_model
ProcessedMessage = Base.inbox_model


# ---- the local directory, fed by the registry's events ----------------------------------


class Contact(Base):
    """An alumnus as notify needs them: how to reach them and what segments they fall in.

    `updated_at` is the registry record's own `updated_at`, the version of the snapshot
    held, so a late, older event never overwrites a newer one.
    """

    __tablename__ = "contacts"

    alumnus_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    # Stored encrypted (services/common/crypto.py), as are the addresses below.
    email: Mapped[str | None] = mapped_column(EncryptedString("contacts.email"))
    phone: Mapped[str | None] = mapped_column(EncryptedString("contacts.phone"))
    province: Mapped[str | None] = mapped_column(String(50), index=True)
    city: Mapped[str | None] = mapped_column(String(50), index=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh-CN")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContactGraduation(Base):
    """One graduation record of a contact: what department and class-year segments match."""

    __tablename__ = "contact_graduations"
    __table_args__ = (
        Index("ix_contact_graduations_department", "department_id", "alumnus_id"),
        Index("ix_contact_graduations_class_year", "class_year", "alumnus_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alumnus_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.alumnus_id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[str] = mapped_column(String(36))
    class_year: Mapped[int] = mapped_column(Integer)


# ---- consent, and addresses on hold -----------------------------------------------------


class Consent(Base):
    """The current answer of one person for one channel and purpose."""

    __tablename__ = "consents"

    alumnus_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(30))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsentChange(Base):
    """Every change of a consent, never edited: who or what said so, and when (PIPL)."""

    __tablename__ = "consent_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alumnus_id: Mapped[str] = mapped_column(String(36), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    purpose: Mapped[str] = mapped_column(String(20))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str | None] = mapped_column(String(50))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AddressHold(Base):
    """An address that hard-bounced: nothing more is sent to it until it is released.

    Keyed by the address's blind index, so a hold is found without decrypting any.
    """

    __tablename__ = "address_holds"

    address_index: Mapped[str] = mapped_column(
        String(INDEX_LENGTH), primary_key=True, info=blind_index_column_info("address")
    )
    address: Mapped[str] = mapped_column(EncryptedString("address_holds.address"))
    channel: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ---- templates, versioned ---------------------------------------------------------------


class Template(Base):
    """One message kind on one channel in one locale; its text lives in its versions."""

    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("kind", "channel", "locale", name="uq_templates_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(50))
    channel: Mapped[str] = mapped_column(String(10))
    locale: Mapped[str] = mapped_column(String(10))
    current_version: Mapped[int] = mapped_column(Integer, default=1)


class TemplateVersion(Base):
    """A saved text of a template, never edited: messages name the version they used.

    e-mail: `subject`, `body` (HTML), `text_body` (optional; else derived from the HTML);
    inbox: `subject` (the title) and `body` (plain text); SMS: `sms_code` (the template
    code registered with the provider), `body` (its registered text, `${name}` for each
    parameter) and `sms_params` (each parameter as a template).
    """

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version", name="uq_template_versions"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    template_id: Mapped[str] = mapped_column(ForeignKey("templates.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)
    sms_code: Mapped[str | None] = mapped_column(String(50))
    sms_params: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# ---- newsletters ------------------------------------------------------------------------


class Newsletter(Base):
    """A newsletter (通报学校发展近况) to a segment of the directory.

    Fan-out first writes one queued message per recipient and channel, a batch per
    transaction, `expanded_through` (the last alumnus id written) committed with each
    batch, so a restart continues where the last committed batch ended.
    """

    __tablename__ = "newsletters"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    channels: Mapped[list] = mapped_column(JSON)
    segment: Mapped[dict] = mapped_column(JSON)
    department_id: Mapped[str | None] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expanded_through: Mapped[str | None] = mapped_column(String(36))
    expansion_done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# ---- messages: the queue and the delivery log ---------------------------------------------


class Message(Base):
    """One message to one recipient on one channel: queued, then sent, failed or skipped.

    `dedupe_key` is unique: the same cause (an event, a newsletter) reaches a recipient on a
    channel once. `context` holds what the template is rendered with; the text is rendered
    when the message is sent, with `template_version_id` (a newsletter's own text for its
    e-mails). `lease_until`: a dispatcher has taken the message until then.
    """

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_due", "status", "channel", "next_attempt_at"),
        Index("ix_messages_newsletter", "newsletter_id", "status"),
        Index("ix_messages_alumnus", "alumnus_id", "seq"),
        Index("ix_messages_unreported", "reported", "status"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    purpose: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(60))
    alumnus_id: Mapped[str | None] = mapped_column(String(36))
    address: Mapped[str | None] = mapped_column(EncryptedString("messages.address"))
    # Set on insert by the ORM, and by hand where messages are inserted in bulk.
    address_index: Mapped[str | None] = mapped_column(
        String(INDEX_LENGTH), info=blind_index_column_info("address")
    )
    locale: Mapped[str] = mapped_column(String(10))
    template_version_id: Mapped[str | None] = mapped_column(String(36))
    newsletter_id: Mapped[str | None] = mapped_column(String(36))
    context: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))
    skip_reason: Mapped[str | None] = mapped_column(String(30))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_token: Mapped[str | None] = mapped_column(String(36), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Whether its notification_sent / notification_failed event is in the outbox yet.
    reported: Mapped[bool] = mapped_column(Boolean, default=False)


class Attachment(Base):
    """A file sent with a message (a gift's receipt PDF), kept here so that sending never
    has to ask another service for it."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class GiftReceipt(Base):
    """The receipt number of a gift, from the donations service's `receipt_issued`: what a
    waiting thank-you letter needs to fetch its PDF."""

    __tablename__ = "gift_receipts"

    gift_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(30))


class InboxItem(Base):
    """A message in someone's in-app inbox. `audience`: `alumnus:<id>`, `staff:<username>`,
    or `office` (shared by the office's accounts: read by one, read for all)."""

    __tablename__ = "inbox_items"
    __table_args__ = (Index("ix_inbox_audience", "audience", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    audience: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# ---- what reminders need: events and who holds a seat, fed by the events service -------


class EventCopy(Base):
    __tablename__ = "event_copies"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    venue: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class Attendance(Base):
    """A registration as the events service announced it last (confirmed, waitlisted,
    cancelled)."""

    __tablename__ = "attendances"

    registration_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    alumnus_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20))
    # When the event that set `status` occurred: a late, older event changes nothing.
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)


class AccessLogEntry(AccessLogMixin, Base):
    """Who saw which message addresses unmasked in the delivery log
    (services/common/access_log.py)."""


class MergedReference(MergedReferenceMixin, Base):
    """A row moved from an absorbed alumnus to the survivor of a registry merge, so that
    the merge's undo moves back exactly these (services/notify/merges.py)."""
