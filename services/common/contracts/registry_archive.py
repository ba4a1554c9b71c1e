"""Contracts of the registry's distinguished-alumni archive (杰出校友档案) and of its stories
and news (校友风采): RPC payloads only, the archive publishes no events (docs/community.md).

A part of the registry's contracts kept in a module of its own (several branches add to the
registry at once); it publishes nothing, so the catalogue need not know it.
"""

from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validates_schema

from services.common.contracts.base import (
    Flag,
    Name,
    PageQuery,
    StrictSchema,
    Text,
    in_range,
    length,
    one_of,
)

ENTRY_STATUSES = ["nominated", "approved", "rejected"]
INTERACTION_KINDS = ["visit", "call", "service", "gift_noted"]
STORY_STATUSES = ["draft", "reviewed", "published", "withdrawn"]
NEWS_STATUSES = ["submitted", "accepted", "dismissed"]
MAX_STORY_ALUMNI = 20

# What an HTML parser opens a tag, a comment, a doctype or a processing instruction on: `<`
# followed at once by a letter, `/` and a letter, `!` or `?`. A `<` in prose ("成绩 < 60",
# "a < b") is not one, and stays as it was written.
MARKUP = re.compile(r"<(?:[!?]|/?[A-Za-z])")


class PlainText(Text):
    """Free text that is shown as text, never as markup: HTML is refused, not stored and
    later escaped by whoever remembers to (docs/community.md, Decision)."""

    default_error_messages = {
        **Text.default_error_messages,
        "markup": "正文为纯文本，不接受 HTML 标签。",
    }

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if MARKUP.search(text):
            raise self.make_error("markup")
        return text


class PlainName(PlainText):
    """A one-line plain text (a title, a headline)."""

    forbidden = Name.forbidden
    documented_pattern = Name.documented_pattern


# ---- the archive -------------------------------------------------------------------------


class NominationInput(StrictSchema):
    alumnus_id = fields.UUID(required=True)
    reasons = PlainText(required=True, validate=length(1, 5000))


class ApprovalInput(StrictSchema):
    steward_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "the staff account that looks after the alumnus (专人负责)"},
    )
    note = PlainText(load_default="", validate=length(max_len=1000))


class RejectionInput(StrictSchema):
    reason = PlainText(required=True, validate=length(1, 1000))


class StewardInput(StrictSchema):
    steward_id = fields.UUID(required=True)


class NominationSearch(PageQuery):
    status = fields.String(validate=one_of(ENTRY_STATUSES))


class ArchiveSearch(PageQuery):
    steward_id = fields.UUID(metadata={"description": "only the entries this account looks after"})


class Nomination(StrictSchema):
    """What a nominator sees: their nomination and its outcome, not the archive."""

    id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    alumnus_name = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=one_of(ENTRY_STATUSES))
    reasons = fields.String(required=True)
    department_id = fields.String(required=True, allow_none=True)
    nominated_by = fields.String(required=True, metadata={"description": "username"})
    nominator_id = fields.String(required=True, metadata={"description": "account id"})
    nominated_at = fields.String(required=True, metadata={"format": "date-time"})
    decided_by = fields.String(required=True, allow_none=True)
    decided_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    decision_note = fields.String(required=True, allow_none=True)


class Steward(StrictSchema):
    id = fields.String(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True)


class ArchiveEntry(Nomination):
    steward = fields.Nested(Steward, required=True, allow_none=True)
    steward_assigned_at = fields.String(
        required=True, allow_none=True, metadata={"format": "date-time"}
    )
    honours_count = fields.Integer(required=True)
    interactions_count = fields.Integer(required=True)
    last_interaction_on = fields.String(required=True, allow_none=True, metadata={"format": "date"})


class InteractionInput(StrictSchema):
    kind = fields.String(required=True, validate=one_of(INTERACTION_KINDS))
    occurred_on = fields.Date(required=True)
    summary = Text(required=True, validate=length(1, 2000))
    gift_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "the donations service's gift (kind gift_noted only)"},
    )

    @validates_schema
    def gift_goes_with_gift_noted(self, data, **kwargs) -> None:
        if data.get("kind") == "gift_noted" and not data.get("gift_id"):
            raise ValidationError("记录捐赠须给出捐赠记录 ID。", "gift_id")
        if data.get("kind") != "gift_noted" and data.get("gift_id"):
            raise ValidationError("只有“捐赠”类往来可以引用捐赠记录。", "gift_id")


class Interaction(StrictSchema):
    id = fields.String(required=True)
    entry_id = fields.String(required=True)
    kind = fields.String(required=True, validate=one_of(INTERACTION_KINDS))
    occurred_on = fields.String(required=True, metadata={"format": "date"})
    summary = fields.String(required=True)
    gift_id = fields.String(required=True, allow_none=True)
    recorded_by = fields.String(required=True)
    recorded_at = fields.String(required=True, metadata={"format": "date-time"})


class HonourInput(StrictSchema):
    year = fields.Integer(required=True, strict=True, validate=in_range(1900, 2100))
    title = Name(required=True, validate=length(1, 200))
    citation = Text(required=True, validate=length(1, 5000))


class Honour(StrictSchema):
    id = fields.String(required=True)
    entry_id = fields.String(required=True)
    year = fields.Integer(required=True)
    title = fields.String(required=True)
    citation = fields.String(required=True)
    recorded_by = fields.String(required=True)
    recorded_at = fields.String(required=True, metadata={"format": "date-time"})


# ---- stories and news ----------------------------------------------------------------------


class StoryAlumnusInput(StrictSchema):
    alumnus_id = fields.UUID(required=True)
    display_name = PlainName(
        load_default=None,
        allow_none=True,
        validate=length(1, 50),
        metadata={"description": "the name the story gives them; the record's name if left out"},
    )


class StoryInput(StrictSchema):
    title = PlainName(required=True, validate=length(1, 200))
    summary = PlainText(load_default=None, allow_none=True, validate=length(max_len=500))
    body = PlainText(
        required=True,
        validate=length(1, 50000),
        metadata={"description": "plain text; paragraphs separated by blank lines; no HTML"},
    )
    alumni = fields.List(
        fields.Nested(StoryAlumnusInput),
        required=True,
        validate=length(1, MAX_STORY_ALUMNI),
    )
    department_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "the office may name a department; a liaison's is theirs"},
    )

    @validates_schema
    def alumni_once(self, data, **kwargs) -> None:
        ids = [str(link["alumnus_id"]) for link in data.get("alumni") or []]
        if len(ids) != len(set(ids)):
            raise ValidationError("同一校友不能重复关联。", "alumni")


class StoryPatch(StrictSchema):
    title = PlainName(validate=length(1, 200))
    summary = PlainText(allow_none=True, validate=length(max_len=500))
    body = PlainText(validate=length(1, 50000))
    alumni = fields.List(fields.Nested(StoryAlumnusInput), validate=length(1, MAX_STORY_ALUMNI))

    @validates_schema
    def alumni_once(self, data, **kwargs) -> None:
        StoryInput.alumni_once(self, data)


class StoryStep(StrictSchema):
    note = PlainText(load_default="", validate=length(max_len=1000))


class StorySearch(PageQuery):
    status = fields.String(validate=one_of(STORY_STATUSES))
    department_id = fields.UUID()
    alumnus_id = fields.UUID()


class StoryAlumnus(StrictSchema):
    alumnus_id = fields.String(required=True)
    display_name = fields.String(required=True)


class Story(StrictSchema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True, allow_none=True)
    body = fields.String(required=True)
    status = fields.String(required=True, validate=one_of(STORY_STATUSES))
    department_id = fields.String(required=True, allow_none=True)
    alumni = fields.List(fields.Nested(StoryAlumnus), required=True)
    author = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    updated_at = fields.String(required=True, metadata={"format": "date-time"})
    reviewed_by = fields.String(required=True, allow_none=True)
    reviewed_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    published_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    withdrawn_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    note = fields.String(required=True, allow_none=True)


class PublicStoryAlumnus(StrictSchema):
    display_name = fields.String(required=True)


class PublicStory(StrictSchema):
    """A published story as anyone reads it: names as the story gives them, nothing else
    of the alumni (no record id, no contact)."""

    id = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True, allow_none=True)
    body = fields.String(required=True, metadata={"description": "plain text, never HTML"})
    alumni = fields.List(fields.Nested(PublicStoryAlumnus), required=True)
    published_at = fields.String(required=True, metadata={"format": "date-time"})


class NewsInput(StrictSchema):
    alumnus_id = fields.UUID(required=True)
    headline = PlainName(required=True, validate=length(1, 200))
    body = PlainText(required=True, validate=length(1, 5000))
    source = PlainName(
        required=True,
        validate=length(1, 500),
        metadata={"description": "where it came from: a newspaper, a web address, a classmate"},
    )


class NewsAcceptance(StrictSchema):
    make_story = Flag(
        load_default=False,
        metadata={"description": "true: a story draft is made from it, with the alumnus linked"},
    )


class NewsDismissal(StrictSchema):
    reason = PlainText(required=True, validate=length(1, 1000))


class NewsSearch(PageQuery):
    status = fields.String(validate=one_of(NEWS_STATUSES))
    department_id = fields.UUID()


class News(StrictSchema):
    id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    alumnus_name = fields.String(required=True, allow_none=True)
    headline = fields.String(required=True)
    body = fields.String(required=True)
    source = fields.String(required=True)
    status = fields.String(required=True, validate=one_of(NEWS_STATUSES))
    department_id = fields.String(required=True, allow_none=True)
    submitted_by = fields.String(required=True)
    submitted_at = fields.String(required=True, metadata={"format": "date-time"})
    decided_by = fields.String(required=True, allow_none=True)
    decided_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    dismissal_reason = fields.String(required=True, allow_none=True)
    story_id = fields.String(required=True, allow_none=True)
