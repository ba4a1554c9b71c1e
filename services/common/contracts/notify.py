"""Contracts of the notify service: its RPC payloads and the events it publishes."""

from __future__ import annotations

from marshmallow import fields

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

CHANNELS = ["email", "sms", "inbox"]
PURPOSES = ["transactional", "marketing"]
LOCALES = ["zh-CN", "en"]
MESSAGE_STATUSES = ["queued", "waiting", "sent", "failed", "skipped"]
NEWSLETTER_STATUSES = ["draft", "scheduled", "sending", "sent"]
CONSENT_SOURCES = [
    "self_service",
    "unsubscribe_link",
    "paper_form",
    "event_signup",
    "import",
    "office",
]
"""Where an answer came from: the alumnus in the portal, a one-click link, or the office
recording what the alumnus said elsewhere."""
OFFICE_SOURCES = ["paper_form", "event_signup", "import", "office"]


# ---- RPC inputs -------------------------------------------------------------------------


class TemplateSearch(StrictSchema):
    kind = fields.String(validate=length(1, 50))
    channel = fields.String(validate=one_of(CHANNELS))
    locale = fields.String(validate=one_of(LOCALES))


class TemplateInput(StrictSchema):
    """A new version: e-mail `subject` + `body` (HTML) [+ `text_body`]; inbox `subject` +
    `body` (text); SMS `sms_code` + `body` (the registered text with `${name}`) +
    `sms_params` (each parameter as a template)."""

    subject = Name(allow_none=True, load_default=None, validate=length(max_len=500))
    body = Text(required=True, validate=length(1, 100_000))
    text_body = Text(allow_none=True, load_default=None, validate=length(1, 100_000))
    sms_code = fields.String(allow_none=True, load_default=None, validate=length(1, 50))
    sms_params = fields.Dict(
        keys=fields.String(validate=length(1, 30)),
        values=Text(validate=length(1, 500)),
        allow_none=True,
        load_default=None,
    )


class PreviewInput(StrictSchema):
    """Render the template, or an unsaved `draft` of it, with the kind's sample data and
    `sample` merged over it. Nothing is stored or sent."""

    draft = fields.Nested(TemplateInput, allow_none=True, load_default=None)
    sample = fields.Dict(allow_none=True, load_default=None)


class Segment(StrictSchema):
    """Who of the directory: every field given must match; none at all is everyone."""

    department_id = fields.UUID(allow_none=True, load_default=None)
    class_year = fields.Integer(
        allow_none=True, load_default=None, strict=True, validate=in_range(1900, 2100)
    )
    province = Name(allow_none=True, load_default=None, validate=length(1, 50))
    city = Name(allow_none=True, load_default=None, validate=length(1, 50))


class NewsletterInput(StrictSchema):
    subject = Name(required=True, validate=length(1, 200))
    body = Text(required=True, validate=length(1, 100_000))
    channels = fields.List(
        fields.String(validate=one_of(CHANNELS)),
        load_default=lambda: ["email"],
        validate=length(1, 3),
    )
    segment = fields.Nested(Segment, required=True)


class NewsletterSend(StrictSchema):
    send_at = fields.AwareDateTime(allow_none=True, load_default=None)


class NewsletterSearch(PageQuery):
    department_id = fields.UUID()
    status = fields.String(validate=one_of(NEWSLETTER_STATUSES))
    limit = fields.Integer(load_default=20, validate=in_range(1, 100))


class MessageSearch(PageQuery):
    kind = fields.String(validate=length(1, 50))
    channel = fields.String(validate=one_of(CHANNELS))
    status = fields.String(validate=one_of(MESSAGE_STATUSES))
    alumnus_id = fields.UUID()
    newsletter_id = fields.UUID()


class StatsQuery(StrictSchema):
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()


class InboxQuery(PageQuery):
    unread_only = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=20, validate=in_range(1, 100))


class PreferenceChange(StrictSchema):
    channel = fields.String(required=True, validate=one_of(CHANNELS))
    purpose = fields.String(required=True, validate=one_of(PURPOSES))
    granted = Flag(required=True)


class PreferencesInput(StrictSchema):
    changes = fields.List(
        fields.Nested(PreferenceChange), load_default=list, validate=length(max_len=6)
    )
    locale = fields.String(validate=one_of(LOCALES))


class ConsentRecord(PreferencesInput):
    """The office records what an alumnus said elsewhere (a paper form, a sign-up sheet)."""

    source = fields.String(required=True, validate=one_of(OFFICE_SOURCES))


class UnsubscribeQuery(StrictSchema):
    token = fields.String(required=True, validate=length(1, 500))


# ---- RPC outputs and event payloads (JSON-native) ---------------------------------------


class Template(StrictSchema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    description = fields.String(required=True)
    purpose = fields.String(required=True, validate=one_of(PURPOSES))
    channel = fields.String(required=True, validate=one_of(CHANNELS))
    locale = fields.String(required=True)
    version = fields.Integer(required=True)
    version_id = fields.String(required=True)
    subject = fields.String(allow_none=True, required=True)
    body = fields.String(required=True)
    text_body = fields.String(allow_none=True, required=True)
    sms_code = fields.String(allow_none=True, required=True)
    sms_params = fields.Dict(allow_none=True, required=True)
    created_by = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class VersionLine(StrictSchema):
    version = fields.Integer(required=True)
    created_by = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class TemplateDetail(Template):
    versions = fields.List(fields.Nested(VersionLine), required=True)


class Preview(StrictSchema):
    template_id = fields.String(required=True)
    channel = fields.String(required=True)
    subject = fields.String(metadata={"description": "e-mail and inbox"})
    html = fields.String(metadata={"description": "e-mail"})
    text = fields.String(required=True)
    sms_code = fields.String(metadata={"description": "SMS"})
    sms_params = fields.Dict(metadata={"description": "SMS"})


class ChannelProgress(StrictSchema):
    channel = fields.String(required=True)
    queued = fields.Integer(required=True)
    sent = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    skipped = fields.Integer(required=True)


class Progress(StrictSchema):
    queued = fields.Integer(required=True)
    sent = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    skipped_by_reason = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "no_consent, withdrawn, no_address, address_on_hold, daily_cap"},
    )
    by_channel = fields.List(fields.Nested(ChannelProgress), required=True)
    fan_out_complete = fields.Boolean(
        required=True, metadata={"description": "every recipient's messages are written"}
    )


class SegmentOut(StrictSchema):
    department_id = fields.String()
    class_year = fields.Integer()
    province = fields.String()
    city = fields.String()


class NewsletterSummary(StrictSchema):
    id = fields.String(required=True)
    subject = fields.String(required=True)
    body = fields.String(required=True)
    channels = fields.List(fields.String(), required=True)
    segment = fields.Nested(SegmentOut, required=True)
    department_id = fields.String(allow_none=True, required=True)
    status = fields.String(required=True, validate=one_of(NEWSLETTER_STATUSES))
    send_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    created_by = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    started_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    finished_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})


class Newsletter(NewsletterSummary):
    progress = fields.Nested(Progress, required=True)


class MessageLine(StrictSchema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    channel = fields.String(required=True)
    purpose = fields.String(required=True)
    recipient = fields.String(required=True)
    alumnus_id = fields.String(allow_none=True, required=True)
    address = fields.String(allow_none=True, required=True)
    locale = fields.String(required=True)
    template_version_id = fields.String(allow_none=True, required=True)
    newsletter_id = fields.String(allow_none=True, required=True)
    status = fields.String(required=True, validate=one_of(MESSAGE_STATUSES))
    skip_reason = fields.String(allow_none=True, required=True)
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True, required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    sent_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})


class StatsLine(StrictSchema):
    kind = fields.String(required=True)
    channel = fields.String(required=True)
    queued = fields.Integer(required=True)
    waiting = fields.Integer(required=True)
    sent = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    skipped = fields.Integer(required=True)


class Stats(StrictSchema):
    items = fields.List(fields.Nested(StatsLine), required=True)


class InboxEntry(StrictSchema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    read_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})


class InboxPage(StrictSchema):
    items = fields.List(fields.Nested(InboxEntry), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    unread_count = fields.Integer(required=True)


class MarkedRead(StrictSchema):
    marked = fields.Integer(required=True)


class PreferenceLine(StrictSchema):
    channel = fields.String(required=True, validate=one_of(CHANNELS))
    purpose = fields.String(required=True, validate=one_of(PURPOSES))
    granted = Flag(required=True)
    source = fields.String(required=True, metadata={"description": "`default` when never answered"})
    changed_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})


class Preferences(StrictSchema):
    alumnus_id = fields.String(required=True)
    locale = fields.String(required=True)
    preferences = fields.List(fields.Nested(PreferenceLine), required=True)


class Unsubscribed(StrictSchema):
    channel = fields.String(required=True)
    purpose = fields.String(required=True)
    granted = Flag(required=True, metadata={"description": "false: withdrawn"})


class NotificationData(StrictSchema):
    message_id = fields.String(required=True)
    kind = fields.String(required=True)
    channel = fields.String(required=True, validate=one_of(CHANNELS))
    purpose = fields.String(required=True, validate=one_of(PURPOSES))
    recipient = fields.String(
        required=True,
        metadata={"description": "`alumnus:<id>`, `staff:<username>` or `office`"},
    )
    alumnus_id = fields.String(allow_none=True, required=True)
    newsletter_id = fields.String(allow_none=True, required=True)
    template_version_id = fields.String(allow_none=True, required=True)
    attempts = fields.Integer(required=True)


class NotificationSentData(NotificationData):
    sent_at = fields.String(required=True, metadata={"format": "date-time"})


class NotificationFailedData(NotificationData):
    error = fields.String(required=True)


EVENTS = (
    EventContract(
        "notification_sent",
        1,
        NotificationSentData,
        "A message was handed to its channel: accepted by the mail server or the SMS "
        "provider, or put in the in-app inbox. No address or text: ids only.",
    ),
    EventContract(
        "notification_failed",
        1,
        NotificationFailedData,
        "A message could not be delivered: refused for good, or given up after its retries.",
    ),
)
