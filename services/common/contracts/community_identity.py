"""Contracts of alumni verification, the electronic alumni card and the directory (the
registry's, issue 11 items 5–7; docs/community.md). A module of its own beside
registry.py, whose `EVENTS` include this one's."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema

from services.common.contracts.base import (
    EventContract,
    Name,
    PageQuery,
    StrictSchema,
    Text,
    in_range,
    length,
    one_of,
    pattern,
)
from services.common.errors import AppError
from services.common.paging import decode_cursor

USERNAME = pattern(r"^[A-Za-z0-9_.-]{3,50}$", error="用户名应为 3 到 50 位字母、数字或 _.-。")
STUDENT_NUMBER = pattern(
    r"^[0-9A-Za-z-]{1,32}$", error="学号只能由字母、数字和“-”组成，最长 32 位。"
)
CODE = pattern(r"^[0-9]{6}$", error="验证码应为 6 位数字。")
CHANNELS = ["email", "sms"]
CLAIM_STATUSES = ["awaiting_vouches", "verified", "activated", "expired"]
VOUCH_STATUSES = ["requested", "approved", "declined"]
CARD_STATUSES = ["applied", "active", "rejected", "revoked"]
PRIVACY_LEVELS = ["name_only", "work", "contacts"]
PRIVILEGE_CODE = pattern(
    r"^[a-z][a-z0-9_]{1,29}$", error="权益代码应为 2 到 30 位小写字母、数字或下划线，以字母开头。"
)


# ---- verification (校友认证) ----------------------------------------------------------


class ClaimInput(StrictSchema):
    """Who the claimant says they are: name and class year, the department (required when
    no student number is given), and the student number when they know it."""

    name = Name(required=True, validate=length(1, 50))
    class_year = fields.Integer(required=True, strict=True, validate=in_range(1900, 2100))
    department_id = fields.UUID(load_default=None, allow_none=True)
    student_number = fields.String(load_default=None, allow_none=True, validate=STUDENT_NUMBER)
    channel = fields.String(load_default=None, allow_none=True, validate=one_of(CHANNELS))

    @validates_schema
    def _department_for_vouching(self, data, **kwargs) -> None:
        if not data.get("student_number") and not data.get("department_id"):
            raise ValidationError("不填学号时须选择院系，以便同班校友为您担保。", "department_id")


class ClaimCodeRequest(StrictSchema):
    channel = fields.String(load_default=None, allow_none=True, validate=one_of(CHANNELS))


class ClaimActivation(StrictSchema):
    code = fields.String(required=True, validate=CODE)
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, load_only=True, validate=length(10, 200))


class Claim(StrictSchema):
    """A claim as its claimant sees it (the claim id is theirs alone)."""

    claim_id = fields.String(required=True)
    method = fields.String(required=True, validate=one_of(["student_number", "vouch"]))
    status = fields.String(required=True, validate=one_of(CLAIM_STATUSES))
    channel = fields.String(required=True, allow_none=True)
    sent_to = fields.String(required=True, allow_none=True)
    code_expires_at = fields.String(
        required=True, allow_none=True, metadata={"format": "date-time"}
    )
    expires_at = fields.String(required=True, metadata={"format": "date-time"})


class VouchRequest(StrictSchema):
    id = fields.String(required=True)
    claim_id = fields.String(required=True)
    claimant_name = fields.String(required=True)
    class_year = fields.Integer(required=True)
    department_id = fields.String(required=True, allow_none=True)
    status = fields.String(required=True, validate=one_of(VOUCH_STATUSES))
    requested_at = fields.String(required=True, metadata={"format": "date-time"})
    decided_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})


class VouchSearch(PageQuery):
    status = fields.String(validate=one_of(VOUCH_STATUSES))


# ---- the electronic alumni card (电子校友卡) ------------------------------------------------


class Privilege(StrictSchema):
    code = fields.String(required=True, validate=PRIVILEGE_CODE)
    name = Name(required=True, validate=length(1, 50))


class PrivilegeList(StrictSchema):
    """The privileges a card grants from now on, in order (the office's configuration)."""

    privileges = fields.List(fields.Nested(Privilege), required=True, validate=length(0, 20))

    @validates_schema
    def _codes_once(self, data, **kwargs) -> None:
        codes = [p["code"] for p in data.get("privileges", [])]
        if len(codes) != len(set(codes)):
            raise ValidationError("权益代码不能重复。", "privileges")


class Card(StrictSchema):
    id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True, validate=one_of(CARD_STATUSES))
    privileges = fields.List(fields.Nested(Privilege), required=True)
    applied_at = fields.String(required=True, metadata={"format": "date-time"})
    decided_by = fields.String(required=True, allow_none=True)
    decided_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    reason = fields.String(required=True, allow_none=True)
    expires_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    revoked_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    token = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The QR code's token (EdDSA JWT): own active card only."},
    )


class CardSearch(PageQuery):
    status = fields.String(validate=one_of(CARD_STATUSES))


class CardDecision(StrictSchema):
    reason = Text(load_default=None, allow_none=True, validate=length(1, 500))


class CardPublicKey(StrictSchema):
    """The card-signing public key as a JWK (RFC 8037), and as PEM."""

    kty = fields.String(required=True)
    crv = fields.String(required=True)
    x = fields.String(required=True)
    kid = fields.String(required=True)
    alg = fields.String(required=True)
    use = fields.String(required=True)
    pem = fields.String(required=True)


class RevokedCard(StrictSchema):
    card_id = fields.String(required=True)
    revoked_at = fields.String(required=True, metadata={"format": "date-time"})


class RevocationList(StrictSchema):
    """Revoked cards not yet expired, signed: `signature` is the Ed25519 signature
    (base64url) of the canonical JSON of every other field (sorted keys, no spaces)."""

    issuer = fields.String(required=True)
    issued_at = fields.String(required=True, metadata={"format": "date-time"})
    kid = fields.String(required=True)
    revoked = fields.List(fields.Nested(RevokedCard), required=True)
    signature = fields.String(required=True)


# ---- the directory and its privacy choices -------------------------------------------------


class DirectoryPrivacyInput(StrictSchema):
    level = fields.String(required=True, validate=one_of(PRIVACY_LEVELS))


class DirectoryPrivacy(StrictSchema):
    level = fields.String(required=True, validate=one_of(PRIVACY_LEVELS))
    chosen = fields.Boolean(required=True)
    chosen_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})


def _directory_cursor(value: str) -> None:
    """A forged cursor is named as such before the search's other rules are applied."""
    try:
        decode_cursor(value, (int,))
    except AppError:
        raise ValidationError("分页游标无效。") from None


class DirectorySearch(PageQuery):
    cursor = fields.String(
        load_default=None, allow_none=True, validate=[length(1, 100), _directory_cursor]
    )
    name = Name(validate=length(1, 50))
    class_year = fields.Integer(validate=in_range(1900, 2100))
    department_id = fields.UUID()
    limit = fields.Integer(load_default=20, validate=in_range(1, 50))

    @validates_schema
    def _narrow(self, data, **kwargs) -> None:
        if not data.get("name") and not data.get("class_year"):
            raise ValidationError("请按姓名或届别查找（至少填写一项）。", "name")


class DirectoryClass(StrictSchema):
    department_id = fields.String(required=True)
    class_year = fields.Integer(required=True)
    class_name = fields.String(required=True, allow_none=True)
    major = fields.String(required=True)
    degree = fields.String(required=True)


class DirectoryEntry(StrictSchema):
    """What the directory shows of one verified alumnus: their choice decides which fields
    are filled (null: not shown)."""

    alumnus_id = fields.String(required=True)
    name = fields.String(required=True)
    classes = fields.List(fields.Nested(DirectoryClass), required=True)
    level = fields.String(required=True, validate=one_of(PRIVACY_LEVELS))
    employer = fields.String(required=True, allow_none=True)
    city = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    wechat = fields.String(required=True, allow_none=True)


# ---- events ----------------------------------------------------------------------------------


class ClaimCodeIssuedData(StrictSchema):
    claim_id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    channel = fields.String(required=True, validate=one_of(CHANNELS))
    code_sealed = fields.String(required=True)
    expires_at = fields.String(required=True, metadata={"format": "date-time"})
    ttl_minutes = fields.Integer(required=True)


EVENTS = (
    EventContract(
        "claim_code_issued",
        1,
        ClaimCodeIssuedData,
        "A verified claim's one-time code, to be sent to the alumnus's phone (`sms`) or "
        "e-mail on file. `code_sealed` is the code encrypted under the platform's PII keys "
        "(services/common/crypto.py, context `sealed.code`): campus subscribers "
        "of the topic see no code. Only notify sends it.",
    ),
)
