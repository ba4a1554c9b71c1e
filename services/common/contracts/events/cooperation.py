"""School–alumni cooperation projects (三.8): partner, contacts, status, notes."""

from __future__ import annotations

from marshmallow import fields

from services.common.contracts.base import (
    Name,
    PageQuery,
    StrictSchema,
    Text,
    UtcDateTime,
    china_mobile,
    length,
    one_of,
)
from services.common.contracts.events.common import ContactOut, page_limit

PROJECT_STATUSES = ["proposed", "active", "completed", "suspended"]
MAX_CONTACTS = 50


class ProjectContactInput(StrictSchema):
    name = Name(required=True, validate=length(1, 50))
    phone = fields.String(allow_none=True, load_default=None, validate=china_mobile())
    email = fields.Email(allow_none=True, load_default=None, validate=length(max_len=254))
    alumnus_id = fields.UUID(allow_none=True, load_default=None)


class ProjectFields(StrictSchema):
    title = Name(validate=length(1, 200))
    partner = Name(validate=length(1, 200))
    contacts = fields.List(
        fields.Nested(ProjectContactInput), validate=length(max_len=MAX_CONTACTS)
    )
    department_id = fields.UUID(allow_none=True)


class ProjectInput(ProjectFields):
    """A school–alumni cooperation project (三.8); `department_id` when a department runs it."""

    title = Name(required=True, validate=length(1, 200))
    partner = Name(required=True, validate=length(1, 200))
    contacts = fields.List(
        fields.Nested(ProjectContactInput), load_default=list, validate=length(max_len=MAX_CONTACTS)
    )
    department_id = fields.UUID(allow_none=True, load_default=None)
    status = fields.String(load_default="proposed", validate=one_of(PROJECT_STATUSES))


class ProjectPatch(ProjectFields):
    """A partial update of title, partner, contacts or department; status has its own call."""


class ProjectStatusChange(StrictSchema):
    status = fields.String(required=True, validate=one_of(PROJECT_STATUSES))
    note = Text(allow_none=True, load_default=None, validate=length(1, 5_000))


class ProjectSearch(PageQuery):
    status = fields.String(validate=one_of(PROJECT_STATUSES))
    department_id = fields.UUID()
    limit = page_limit(20)


# Outputs (RPC results and event payloads, JSON-native).


class ProjectContact(ContactOut):
    alumnus_id = fields.String(allow_none=True, required=True)


class ProjectNote(StrictSchema):
    note = fields.String(required=True)
    author = fields.String(required=True)
    at = UtcDateTime(required=True)


class Project(StrictSchema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    partner = fields.String(required=True)
    contacts = fields.List(fields.Nested(ProjectContact), required=True)
    status = fields.String(required=True, validate=one_of(PROJECT_STATUSES))
    department_id = fields.String(allow_none=True, required=True)
    notes = fields.List(fields.Nested(ProjectNote), required=True)
    created_by = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)
