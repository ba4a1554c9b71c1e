"""Contracts of the registry's community part: chapters and their members, messengers and
their classmates, the student alumni volunteer association (docs/community.md).

A module of its own beside contracts/registry.py (the same producing service) so that the
parts of issue 11 merge without touching each other's lines.
"""

from __future__ import annotations

from marshmallow import fields

from services.common.contracts.base import (
    Name,
    PageQuery,
    StrictSchema,
    Text,
    in_range,
    length,
    one_of,
)

CHAPTER_KINDS = ["general", "regional", "industry"]
MEMBER_ROLES = ["member", "officer", "volunteer"]
VOLUNTEER_POSITIONS = ["member", "president", "vice_president", "secretary", "department_lead"]
SUGGESTION_REASONS = ["general", "city", "industry"]

DATE = {"format": "date"}


# ---- chapters -------------------------------------------------------------------------------


class ChapterFields(StrictSchema):
    name = Name(validate=length(1, 100))
    kind = fields.String(validate=one_of(CHAPTER_KINDS))
    city = Name(allow_none=True, validate=length(1, 50))
    industry = Name(allow_none=True, validate=length(1, 100))
    founded_on = fields.Date()
    legal_form = Name(
        allow_none=True,
        validate=length(1, 50),
        metadata={"description": "where registered, e.g. 社会团体法人"},
    )
    registration_number = Name(
        allow_none=True,
        validate=length(1, 50),
        metadata={"description": "统一社会信用代码 or registration number; needs legal_form"},
    )


class ChapterInput(ChapterFields):
    name = Name(required=True, validate=length(1, 100))
    kind = fields.String(required=True, validate=one_of(CHAPTER_KINDS))
    founded_on = fields.Date(required=True)


class ChapterPatch(ChapterFields):
    pass


class ChapterConfirmation(StrictSchema):
    """The school's confirmation of a chapter: an office action, dated."""

    confirmed_on = fields.Date(required=True)
    note = Text(load_default="", validate=length(max_len=1000))


class Chapter(StrictSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=one_of(CHAPTER_KINDS))
    city = fields.String(allow_none=True, required=True)
    industry = fields.String(allow_none=True, required=True)
    founded_on = fields.String(required=True, metadata=DATE)
    legal_form = fields.String(allow_none=True, required=True)
    registration_number = fields.String(allow_none=True, required=True)
    confirmed = fields.Boolean(required=True)
    confirmed_on = fields.String(allow_none=True, required=True, metadata=DATE)
    confirmed_by = fields.String(allow_none=True, required=True)
    confirmation_note = fields.String(allow_none=True, required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    updated_at = fields.String(required=True, metadata={"format": "date-time"})


class ChapterSearch(PageQuery):
    kind = fields.String(validate=one_of(CHAPTER_KINDS))
    city = Name(validate=length(1, 50))
    industry = Name(validate=length(1, 100))
    confirmed = fields.Boolean()


class SuggestedChapter(StrictSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=one_of(CHAPTER_KINDS))
    city = fields.String(allow_none=True, required=True)
    industry = fields.String(allow_none=True, required=True)
    reason = fields.String(
        required=True,
        validate=one_of(SUGGESTION_REASONS),
        metadata={"description": "why: the general association, the alumnus's city or industry"},
    )
    member = fields.Boolean(required=True, metadata={"description": "already a member"})


class MemberInput(StrictSchema):
    alumnus_id = fields.UUID(required=True)
    role = fields.String(load_default="member", validate=one_of(MEMBER_ROLES))
    joined_on = fields.Date(load_default=None, allow_none=True)


class MemberPatch(StrictSchema):
    role = fields.String(required=True, validate=one_of(MEMBER_ROLES))


class MemberSearch(PageQuery):
    role = fields.String(validate=one_of(MEMBER_ROLES))


class Member(StrictSchema):
    """A member as the chapter sees them: name, city and industry; no contacts."""

    id = fields.String(required=True)
    chapter_id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    name = fields.String(required=True)
    city = fields.String(allow_none=True, required=True)
    industry = fields.String(allow_none=True, required=True)
    role = fields.String(required=True, validate=one_of(MEMBER_ROLES))
    joined_on = fields.String(required=True, metadata=DATE)


# ---- messengers -----------------------------------------------------------------------------


class MessengerInput(StrictSchema):
    alumnus_id = fields.UUID(required=True)
    department_id = fields.UUID(required=True)
    class_year = fields.Integer(required=True, strict=True, validate=in_range(1900, 2100))
    class_name = Name(required=True, validate=length(1, 100))
    appointed_on = fields.Date(load_default=None, allow_none=True)


class MessengerEnd(StrictSchema):
    ended_on = fields.Date(load_default=None, allow_none=True)


class MessengerSearch(PageQuery):
    department_id = fields.UUID()
    class_year = fields.Integer(validate=in_range(1900, 2100))
    active = fields.Boolean()


class Messenger(StrictSchema):
    id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    name = fields.String(required=True)
    department_id = fields.String(required=True)
    class_year = fields.Integer(required=True)
    class_name = fields.String(required=True)
    appointed_on = fields.String(required=True, metadata=DATE)
    appointed_by = fields.String(required=True)
    ended_on = fields.String(allow_none=True, required=True, metadata=DATE)
    active = fields.Boolean(required=True)


class Classmate(StrictSchema):
    """A classmate on a messenger's list: name and a few fields, contacts always masked."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    major = fields.String(required=True)
    degree = fields.String(required=True)
    city = fields.String(allow_none=True, required=True)
    phone = fields.String(allow_none=True, required=True, metadata={"description": "masked"})
    email = fields.String(allow_none=True, required=True, metadata={"description": "masked"})


# ---- the student alumni volunteer association ------------------------------------------------


class VolunteerFields(StrictSchema):
    name = Name(validate=length(1, 50))
    department_id = fields.UUID()
    class_year = fields.Integer(strict=True, validate=in_range(1900, 2100))
    position = fields.String(validate=one_of(VOLUNTEER_POSITIONS))
    term_start = fields.Date()
    term_end = fields.Date(allow_none=True)
    note = Text(allow_none=True, validate=length(max_len=1000))


class VolunteerInput(VolunteerFields):
    name = Name(required=True, validate=length(1, 50))
    department_id = fields.UUID(required=True)
    class_year = fields.Integer(required=True, strict=True, validate=in_range(1900, 2100))
    position = fields.String(load_default="member", validate=one_of(VOLUNTEER_POSITIONS))
    term_start = fields.Date(required=True)


class VolunteerPatch(VolunteerFields):
    class Meta(StrictSchema.Meta):
        # The department decides who manages the record: it is set once.
        exclude = ("department_id",)


class VolunteerSearch(PageQuery):
    department_id = fields.UUID()
    position = fields.String(validate=one_of(VOLUNTEER_POSITIONS))
    current = fields.Boolean(metadata={"description": "only terms that cover today"})


class Volunteer(StrictSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    department_id = fields.String(required=True)
    class_year = fields.Integer(required=True)
    position = fields.String(required=True, validate=one_of(VOLUNTEER_POSITIONS))
    term_start = fields.String(required=True, metadata=DATE)
    term_end = fields.String(allow_none=True, required=True, metadata=DATE)
    note = fields.String(allow_none=True, required=True)
    current = fields.Boolean(required=True)
