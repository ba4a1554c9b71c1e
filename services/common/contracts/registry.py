"""Contracts of the registry service: its RPC payloads and the events it publishes."""

from __future__ import annotations

from marshmallow import fields, post_load

from services.common.contracts.base import (
    EventContract,
    Flag,
    Name,
    PageQuery,
    StrictSchema,
    Text,
    china_mobile,
    in_range,
    length,
    one_of,
    pattern,
)

GENDERS = ["male", "female", "unknown"]
DEGREES = ["associate", "bachelor", "master", "doctor", "other"]
ROLES = ["office", "committee", "liaison"]
# Accounts scoped to a chapter or a messenger appointment (docs/community.md).
COMMUNITY_ROLES = ["chapter_officer", "messenger"]
"""Staff roles, the ones `AccountInput` creates; alumni get accounts through their record."""
ALUMNUS_ROLE = "alumnus"
ACCOUNT_ROLES = [*ROLES, *COMMUNITY_ROLES, ALUMNUS_ROLE]
USERNAME = pattern(r"^[A-Za-z0-9_.-]{3,50}$", error="用户名应为 3 到 50 位字母、数字或 _.-。")
CHANGE_SOURCES = ["office", "liaison", "self_service", "import"]
MAX_PAGE_SIZE = 100
STUDENT_NUMBER = pattern(
    r"^[0-9A-Za-z-]{1,32}$", error="学号只能由字母、数字和“-”组成，最长 32 位。"
)
WECHAT_ID = pattern(
    r"^[a-zA-Z][-_a-zA-Z0-9]{5,19}$",
    error="微信号应为 6 到 20 位，以字母开头，可含字母、数字、下划线和减号。",
)


class DepartmentInput(StrictSchema):
    name = Name(required=True, validate=length(1, 100))
    code = fields.String(
        required=True,
        validate=pattern(
            r"^[A-Za-z0-9_-]{1,20}$", error="代码应为 1 到 20 位字母、数字、下划线或减号。"
        ),
    )


class Department(StrictSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    code = fields.String(required=True)


class Graduation(StrictSchema):
    department_id = fields.UUID(required=True)
    major = Name(required=True, validate=length(1, 100))
    degree = fields.String(required=True, validate=one_of(DEGREES))
    class_year = fields.Integer(required=True, strict=True, validate=in_range(1900, 2100))
    class_name = Name(load_default=None, allow_none=True, validate=length(max_len=100))
    # 学号: unique per department and class year where present.
    student_number = fields.String(allow_none=True, validate=STUDENT_NUMBER)
    enrolment_year = fields.Integer(allow_none=True, strict=True, validate=in_range(1900, 2100))
    # What a read answers (GraduationOut) may be sent back as it is: the department a record
    # belongs to now follows from the lineage, so a value sent here is accepted and dropped.
    current_department_id = fields.String(allow_none=True, load_only=True)

    @post_load
    def drop_derived(self, data: dict, **_: object) -> dict:
        data.pop("current_department_id", None)
        return data


class AlumnusFields(StrictSchema):
    """Every editable field of an alumnus; creation requires some of them."""

    name = Name(validate=length(1, 50))
    gender = fields.String(allow_none=True, validate=one_of(GENDERS))
    birth_date = fields.Date(allow_none=True)
    phone = fields.String(allow_none=True, validate=china_mobile())
    email = fields.Email(allow_none=True, validate=length(max_len=254))
    wechat = fields.String(allow_none=True, validate=WECHAT_ID)
    province = Name(allow_none=True, validate=length(max_len=50))
    city = Name(allow_none=True, validate=length(max_len=50))
    employer = Name(allow_none=True, validate=length(max_len=200))
    industry = Name(allow_none=True, validate=length(max_len=100))
    title = Name(allow_none=True, validate=length(max_len=100))
    tags = fields.List(Name(validate=length(1, 30)), validate=length(max_len=50))
    graduations = fields.List(fields.Nested(Graduation), validate=length(1, 20))


class AlumnusInput(AlumnusFields):
    name = Name(required=True, validate=length(1, 50))
    graduations = fields.List(fields.Nested(Graduation), required=True, validate=length(1, 20))


class AlumnusPatch(AlumnusFields):
    """A partial update: only the fields present change."""


class GraduationOut(StrictSchema):
    department_id = fields.String(required=True)
    major = fields.String(required=True)
    degree = fields.String(required=True)
    class_year = fields.Integer(required=True)
    class_name = fields.String(allow_none=True)
    student_number = fields.String(allow_none=True)
    enrolment_year = fields.Integer(allow_none=True)
    current_department_id = fields.String(
        metadata={
            "description": "The department it belongs to now (its successor's after a "
            "merge); on reads."
        }
    )


class Alumnus(StrictSchema):
    """An alumnus as the registry returns it, and as events carry it (JSON-native)."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    gender = fields.String(allow_none=True)
    birth_date = fields.String(allow_none=True, metadata={"format": "date"})
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    wechat = fields.String(allow_none=True)
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    employer = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    tags = fields.List(fields.String(), required=True)
    graduations = fields.List(fields.Nested(GraduationOut), required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    updated_at = fields.String(required=True, metadata={"format": "date-time"})


class FieldProvenance(StrictSchema):
    source = fields.String(required=True, validate=one_of(CHANGE_SOURCES))
    confirmed_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    by = fields.String(metadata={"description": "who wrote the value"})
    approved_by = fields.String(metadata={"description": "the office, for a liaison's change"})
    confirmed_by = fields.String(metadata={"description": "who confirmed it last"})


class AlumnusRead(Alumnus):
    """A record as a read of it answers: the office's read adds each field's provenance, the
    list of records to check when each was last confirmed (docs/stewardship.md). Not in
    events: where a value came from is the registry's business."""

    provenance = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(FieldProvenance),
        metadata={"description": "each field's source and when it was last confirmed (office)"},
    )
    confirmed_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class AlumnusSummary(StrictSchema):
    """An alumnus as a search lists it (issue 12): no contacts, tags or times; the whole
    record, masked for the caller, is `GET /api/v1/alumni/{id}`."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    gender = fields.String(allow_none=True)
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    employer = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    graduations = fields.List(fields.Nested(GraduationOut), required=True)


class AlumnusSearch(PageQuery):
    q = Name(validate=length(1, 50))
    department_id = fields.UUID()
    class_year = fields.Integer(validate=in_range(1900, 2100))
    city = Name(validate=length(1, 50))
    employer = Name(validate=length(1, 200))
    industry = Name(validate=length(1, 100))
    limit = fields.Integer(load_default=20, validate=in_range(1, MAX_PAGE_SIZE))


class Change(StrictSchema):
    field = fields.String(required=True)
    old_value = fields.Raw(allow_none=True)
    new_value = fields.Raw(allow_none=True)
    actor = fields.String(required=True)
    source = fields.String(required=True, validate=one_of(CHANGE_SOURCES))
    changed_at = fields.String(required=True, metadata={"format": "date-time"})


class AccountInput(StrictSchema):
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, load_only=True, validate=length(10, 200))
    role = fields.String(required=True, validate=one_of([*ROLES, *COMMUNITY_ROLES]))
    department_id = fields.UUID(allow_none=True, load_default=None)
    chapter_id = fields.UUID(
        allow_none=True,
        load_default=None,
        metadata={"description": "the chapter of a `chapter_officer` account"},
    )
    messenger_id = fields.UUID(
        allow_none=True,
        load_default=None,
        metadata={"description": "the messenger appointment of a `messenger` account"},
    )


class AlumnusAccountInput(StrictSchema):
    """A login for an alumnus record: the office sets it up (the smallest honest version)."""

    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, load_only=True, validate=length(10, 200))


class Account(StrictSchema):
    id = fields.String(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True, validate=one_of(ACCOUNT_ROLES))
    department_id = fields.String(allow_none=True)
    alumnus_id = fields.String(
        allow_none=True, metadata={"description": "the alumnus record of an `alumnus` account"}
    )
    chapter_id = fields.String(
        allow_none=True, metadata={"description": "the chapter of a `chapter_officer` account"}
    )
    messenger_id = fields.String(
        allow_none=True,
        metadata={"description": "the messenger appointment of a `messenger` account"},
    )
    active = fields.Boolean(metadata={"description": "false once the office disabled it"})


class Credentials(StrictSchema):
    username = fields.String(required=True, validate=length(1, 50))
    password = fields.String(required=True, load_only=True, validate=length(1, 200))


class PasswordChange(StrictSchema):
    """A user's own password change; the new one meets the policy (docs/security/identity.md)."""

    current_password = fields.String(required=True, load_only=True, validate=length(1, 200))
    new_password = fields.String(required=True, load_only=True, validate=length(1, 200))


class FieldChange(StrictSchema):
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)


class AlumnusUpdatedData(StrictSchema):
    id = fields.String(required=True)
    changes = fields.Dict(keys=fields.String(), values=fields.Nested(FieldChange), required=True)
    source = fields.String(required=True, validate=one_of(CHANGE_SOURCES))
    alumnus = fields.Nested(Alumnus, required=True)


# ---- stewardship (docs/stewardship.md) ----------------------------------------


class DepartmentRename(StrictSchema):
    name = Name(validate=length(1, 100))
    code = fields.String(
        validate=pattern(r"^[A-Za-z0-9_-]{1,20}$", error="代码只能由字母、数字、_ 和 - 组成。")
    )


class DepartmentMerge(StrictSchema):
    """Departments merged into a successor: an existing one (`successor_id`) or a new one
    (`successor`)."""

    department_ids = fields.List(fields.UUID(), required=True, validate=length(1, 20))
    successor_id = fields.UUID()
    successor = fields.Nested(DepartmentInput)


class DepartmentLineage(StrictSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    code = fields.String(required=True)
    current_id = fields.String(required=True)
    successor_id = fields.String(allow_none=True)
    former_names = fields.List(fields.String(), required=True)
    predecessors = fields.List(fields.Nested(Department), required=True)


class DepartmentChangedData(StrictSchema):
    department_id = fields.String(required=True)
    kind = fields.String(required=True, validate=one_of(["renamed", "merged"]))
    successor_id = fields.String(allow_none=True)
    names = fields.List(fields.String(), required=True)


class ImportJob(StrictSchema):
    id = fields.String(required=True)
    filename = fields.String(required=True)
    format = fields.String(allow_none=True)
    encoding = fields.String(allow_none=True)
    size = fields.Integer(required=True)
    dry_run = fields.Boolean(required=True)
    status = fields.String(required=True)
    columns = fields.List(fields.Dict(), required=True)
    rows_read = fields.Integer(required=True)
    accepted = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    imported = fields.Integer(required=True)
    existing = fields.Integer(required=True)
    duplicates_flagged = fields.Integer(required=True)
    error = fields.Dict(allow_none=True)
    created_by = fields.String(required=True)
    department_id = fields.String(allow_none=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    finished_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class ImportRowOut(StrictSchema):
    row_number = fields.Integer(required=True)
    status = fields.String(required=True)
    problems = fields.List(fields.Dict(), required=True)
    alumnus_id = fields.String(allow_none=True)


class ImportRowQuery(PageQuery):
    status = fields.String(validate=one_of(["valid", "refused", "applied", "existing"]))
    limit = fields.Integer(load_default=50, validate=in_range(1, MAX_PAGE_SIZE))


class AlumniImportedData(StrictSchema):
    job_id = fields.String(required=True)
    filename = fields.String(required=True)
    rows_read = fields.Integer(required=True)
    imported = fields.Integer(required=True)
    existing = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    duplicates_flagged = fields.Integer(required=True)
    dry_run = fields.Boolean(required=True)
    started_by = fields.String(required=True)


class DuplicateCandidateOut(StrictSchema):
    id = fields.Integer(required=True)
    first_id = fields.String(required=True)
    second_id = fields.String(required=True)
    score = fields.Float(required=True)
    evidence = fields.Dict(required=True)
    status = fields.String(required=True)
    found_by = fields.String(required=True)
    found_at = fields.String(required=True, metadata={"format": "date-time"})
    merge_id = fields.String(allow_none=True)


class DuplicateQuery(PageQuery):
    status = fields.String(load_default="open", validate=one_of(["open", "merged", "dismissed"]))


class MergeInput(StrictSchema):
    survivor_id = fields.UUID(required=True)
    absorbed_id = fields.UUID(required=True)
    choices = fields.Dict(
        keys=fields.String(), values=fields.String(validate=one_of(["survivor", "absorbed"]))
    )


class MergeOut(StrictSchema):
    id = fields.String(required=True)
    survivor_id = fields.String(required=True)
    absorbed_id = fields.String(required=True)
    merged_by = fields.String(required=True)
    merged_at = fields.String(required=True, metadata={"format": "date-time"})
    undone_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    decisions = fields.List(fields.Dict(), required=True)
    conflicts = fields.List(fields.String(), required=True)
    kept_since_merge = fields.List(fields.String())
    survivor = fields.Nested(Alumnus, required=True)
    absorbed = fields.Nested(Alumnus)


class AlumniMergedData(StrictSchema):
    merge_id = fields.String(required=True)
    survivor_id = fields.String(required=True)
    absorbed_id = fields.String(required=True)
    survivor = fields.Nested(Alumnus, required=True)


class AlumniUnmergedData(AlumniMergedData):
    absorbed = fields.Nested(Alumnus, required=True)


# ---- two-level stewardship: liaisons' changes reviewed by the office ----------------------

CHANGE_REQUEST_STATUSES = ["pending", "approved", "rejected"]


class ChangeRequestQuery(PageQuery):
    status = fields.String(validate=one_of(CHANGE_REQUEST_STATUSES))
    department_id = fields.UUID()
    alumnus_id = fields.UUID()


class ChangeRequestSearch(ChangeRequestQuery):
    """The registry's form of the query: the gateway names a liaison as the submitter."""

    submitted_by_id = fields.String(validate=length(1, 36))


class ChangeRequestApproval(StrictSchema):
    force = Flag(
        load_default=False,
        metadata={"description": "approve although the fields changed since (409 otherwise)"},
    )


class ChangeRequestRejection(StrictSchema):
    reason = Text(required=True, validate=length(1, 1000))


class ChangeRequestOut(StrictSchema):
    id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    department_id = fields.String(allow_none=True)
    status = fields.String(required=True, validate=one_of(CHANGE_REQUEST_STATUSES))
    fields_ = fields.List(fields.String(), required=True, data_key="fields")
    patch = fields.Dict(required=True, metadata={"description": "the values asked for"})
    seen = fields.Dict(required=True, metadata={"description": "the values when asked"})
    current = fields.Dict(metadata={"description": "the record's values now (pending only)"})
    stale = fields.Boolean(metadata={"description": "the fields changed since it was made"})
    submitted_by = fields.String(required=True)
    submitted_at = fields.String(required=True, metadata={"format": "date-time"})
    decided_by = fields.String(allow_none=True)
    decided_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    reason = fields.String(allow_none=True)
    conflicts = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "fields changed since it was made, overwritten when forced"},
    )
    alumnus = fields.Nested(Alumnus, metadata={"description": "the record after approval"})


class UnconfirmedQuery(PageQuery):
    department_id = fields.UUID()


# ---- the alumni's own rights (PIPL arts. 44–47) -----------------------------------------


class SelfPatch(AlumnusFields):
    """What an alumnus corrects in their own record (PIPL art. 46): every editable field
    but the graduation records (the school's, checked against its roster) and the tags
    (the office's); sending either is an unknown field."""

    class Meta(StrictSchema.Meta):
        exclude = ("tags", "graduations")


class Me(Account):
    """The calling account and, for an alumnus, their own record beside it (unmasked)."""

    alumnus = fields.Nested(Alumnus, allow_none=True, required=True)


ERASURE_STATUSES = ["requested", "approved", "rejected"]


class ErasureInput(StrictSchema):
    reason = Text(load_default="", validate=length(max_len=1000))


class ErasureDecision(StrictSchema):
    note = Text(load_default="", validate=length(max_len=1000))


class ErasureSearch(PageQuery):
    status = fields.String(validate=one_of(ERASURE_STATUSES))


class ErasureRequest(StrictSchema):
    id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    reason = fields.String(required=True)
    status = fields.String(required=True, validate=one_of(ERASURE_STATUSES))
    requested_at = fields.String(required=True, metadata={"format": "date-time"})
    decided_by = fields.String(allow_none=True, required=True)
    decided_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    decision_note = fields.String(allow_none=True, required=True)


class PersonExport(StrictSchema):
    """Everything the platform holds on one alumnus, one part per service."""

    alumnus_id = fields.String(required=True)
    generated_at = fields.String(required=True, metadata={"format": "date-time"})
    registry = fields.Dict(required=True)
    events = fields.Dict(required=True)
    donations = fields.Dict(required=True)
    notify = fields.Dict(required=True)


class AlumnusErasedData(StrictSchema):
    id = fields.String(required=True)
    erased_at = fields.String(required=True, metadata={"format": "date-time"})


EVENTS = (
    EventContract(
        "alumnus_registered",
        1,
        Alumnus,
        "A new alumnus record was created; `data` is the full record.",
    ),
    EventContract(
        "alumnus_updated",
        1,
        AlumnusUpdatedData,
        "An alumnus record changed; `data.changes` maps each changed field to its old and "
        "new value, `data.alumnus` is the record after the change.",
    ),
    EventContract(
        "department_changed",
        1,
        DepartmentChangedData,
        "A department was renamed or merged into a successor; `names` are every name it "
        "was known by.",
    ),
    EventContract(
        "alumni_imported",
        1,
        AlumniImportedData,
        "An import of a registrar export finished; its counts (a dry run publishes nothing).",
    ),
    EventContract(
        "alumni_merged",
        1,
        AlumniMergedData,
        "Two records were one person: move references from `absorbed_id` to `survivor_id`.",
    ),
    EventContract(
        "alumni_unmerged",
        1,
        AlumniUnmergedData,
        "A merge was undone: move back the references moved for `merge_id`.",
    ),
    EventContract(
        "alumnus_erased",
        1,
        AlumnusErasedData,
        "An alumnus's erasure request was approved: every copy of their identity (name, "
        "contacts) is to be removed; records that must stay (gifts, the ledger) are kept, "
        "anonymised. `erased_at` is newer than any snapshot of the record: ignore older "
        "`alumnus_registered`/`alumnus_updated` events of this id afterwards.",
    ),
)


# Alumni verification, cards and the directory (issue 11) keep their contracts in a module
# of their own; their events are the registry's.
from services.common.contracts import community_identity as _community_identity  # noqa: E402

EVENTS = (*EVENTS, *_community_identity.EVENTS)
# ---- statistics and publication (docs/stewardship.md, item 6) ----------------------------

STATISTICS_DIMENSIONS = ["department", "class_year", "degree", "province", "city", "industry"]
EXPORT_FORMATS = ["csv", "xlsx"]


class StatisticsQuery(StrictSchema):
    """Counts of alumni by one dimension, within optional filters."""

    by = fields.String(required=True, validate=one_of(STATISTICS_DIMENSIONS))
    department_id = fields.UUID()
    class_year = fields.Integer(validate=in_range(1900, 2100))
    degree = fields.String(validate=one_of(DEGREES))
    province = Name(validate=length(1, 50))
    city = Name(validate=length(1, 50))
    industry = Name(validate=length(1, 100))


class StatisticsItem(StrictSchema):
    key = fields.Raw(
        allow_none=True,
        metadata={
            "description": "the department id, class year, degree, or the place/industry "
            "as written; null for records without it"
        },
    )
    label = fields.String(required=True)
    province = fields.String(allow_none=True, metadata={"description": "by=city only"})
    count = fields.Integer(required=True)


class StatisticsOut(StrictSchema):
    by = fields.String(required=True)
    total = fields.Integer(required=True, metadata={"description": "distinct alumni counted"})
    items = fields.List(fields.Nested(StatisticsItem), required=True)


class MapCity(StrictSchema):
    city = fields.String(required=True, metadata={"description": "其他 for the folded ones"})
    count = fields.Integer(required=True)


class MapProvince(StrictSchema):
    province = fields.String(required=True)
    count = fields.Integer(required=True)
    cities = fields.List(fields.Nested(MapCity), required=True)


class AlumniMapOut(StrictSchema):
    min_count = fields.Integer(required=True, metadata={"description": "k: no place under it"})
    total = fields.Integer(required=True)
    provinces = fields.List(fields.Nested(MapProvince), required=True)
    other = fields.Integer(
        required=True,
        metadata={"description": "其他/未公开: provinces under k and records without one"},
    )


class AlumniExportFilters(StrictSchema):
    """A search's filters (`AlumnusSearch`), exported whole rather than paged."""

    q = Name(validate=length(1, 50))
    department_id = fields.UUID()
    class_year = fields.Integer(validate=in_range(1900, 2100))
    city = Name(validate=length(1, 50))
    employer = Name(validate=length(1, 200))
    industry = Name(validate=length(1, 100))


class AlumniExportQuery(AlumniExportFilters):
    format = fields.String(load_default="csv", validate=one_of(EXPORT_FORMATS))


class ReportYear(StrictSchema):
    year = fields.Integer(required=True, validate=in_range(1900, 2100))


class ReportStatusOut(StrictSchema):
    year = fields.Integer(required=True)
    status = fields.String(required=True, validate=one_of(["none", "queued", "ready"]))
    requested_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    generated_at = fields.String(allow_none=True, metadata={"format": "date-time"})
