"""Alumni verification (校友认证): a person claims their roster record and becomes an
alumnus account (docs/community.md, "Alumni verification").

Two ways to claim a record, neither asking for an ID-card number or a diploma photo:

- *by student number*: name, student number and class year (and, optionally, the
  department, matched across its lineage) equal a graduation on the roster;
- *by vouching*, where the roster holds no student number: name, department and class
  year; every verified classmate (same department lineage and class year, with a login)
  is asked to vouch in their `/api/v1/me`, and two approvals verify the claim.

A verified claim gets a one-time code, sent by the notify service to the phone or e-mail on
file (`claim_code_issued`, the code sealed under the PII keys); the code, a username and a
password make the alumnus account. Codes are short-lived, kept as an HMAC, and take a few
tries only. Failed claims are throttled per client address and per claimed person with the
login throttle's mechanism (services/registry/sessions.py).

Plain functions over a SQLAlchemy session; the caller commits.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import crypto
from services.common.contracts.base import iso_utc
from services.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from services.common.paging import each, page, paged_select
from services.common.statemachine import StateMachine
from services.common.visibility import mask
from services.registry import departments, sessions
from services.registry.identity_models import AlumnusClaim, ClaimVouch
from services.registry.models import Account, Alumnus, Graduation, OutboxMessage
from services.registry.sessions import LoginRules, aware

STUDENT_NUMBER, VOUCH = "student_number", "vouch"
AWAITING, VERIFIED, ACTIVATED, EXPIRED = "awaiting_vouches", "verified", "activated", "expired"
EMAIL, SMS = "email", "sms"
CODE_CONTEXT = "sealed.code"
"""The encryption context notify opens a sealed value with (services/notify/messages.py)."""

VOUCH_FLOW = StateMachine(
    "担保请求",
    {"requested": "待答复", "approved": "已担保", "declined": "已拒绝"},
    {"approve": ("requested", "approved"), "decline": ("requested", "declined")},
)


@dataclass(frozen=True)
class ClaimRules:
    """Settings of verification (services/common/config.py `CLAIM_*`)."""

    code_ttl_seconds: float = 900.0
    code_max_attempts: int = 5
    codes_per_claim: int = 5
    claim_ttl_seconds: float = 7 * 24 * 3600.0
    free_per_address: int = 10
    free_per_person: int = 3
    vouches_needed: int = 2
    lockouts: LoginRules = field(default_factory=LoginRules)


# ---- throttling: the login throttle's table and doubling lockouts, keys of their own ------


def throttle_keys(name: str, class_year: int, address: str | None) -> list[tuple[str, str]]:
    """(key, which) pairs: the claimed person (a blind index of name and class year, so the
    table names nobody) and the client address."""
    person = crypto.blind_index(f"claim-person:{name.strip()}|{class_year}")
    keys = [(f"claim:who:{person}", "person")]
    if address:
        keys.append((f"claim:addr:{address}", "address"))
    return keys


def check_throttle(
    session: Session, name: str, class_year: int, address: str | None, now: datetime
) -> None:
    keys = [key for key, _ in throttle_keys(name, class_year, address)]
    sessions.check_locked(session, keys, now, "认证尝试次数过多", "claim_locked")


def count_attempt(
    session: Session,
    name: str,
    class_year: int,
    address: str | None,
    now: datetime,
    rules: ClaimRules,
) -> None:
    free = {"person": rules.free_per_person, "address": rules.free_per_address}
    keys = [(key, free[which]) for key, which in throttle_keys(name, class_year, address)]
    sessions.count_failures(session, keys, now, rules.lockouts)


def not_matched() -> ValidationFailed:
    """The one answer to every claim that does not match the roster: it does not say whether
    the name, the number or the year was wrong, nor whether such a person is on file."""
    return ValidationFailed(
        "所填信息与学校名册不符。请核对姓名、学号和毕业年份；如仍有问题，请联系校友会办公室。",
        reason="claim_not_matched",
    )


# ---- claiming ------------------------------------------------------------------------------


def submit_claim(
    session: Session,
    data: dict[str, Any],
    address: str | None,
    now: datetime,
    rules: ClaimRules,
) -> dict[str, Any]:
    """A claim: by student number (verified at once, a code sent) or by vouching (awaiting
    classmates). A student-number claim that does not match raises `not_matched()` after
    counting the failure: the caller must commit before passing the error on."""
    name, year = data["name"].strip(), int(data["class_year"])
    department_id = data.get("department_id")
    data = {**data, "department_id": str(department_id) if department_id else None}
    check_throttle(session, name, year, address, now)
    if data.get("student_number"):
        return _claim_by_number(session, data, name, year, address, now, rules)
    return _claim_by_vouching(session, data, name, year, address, now, rules)


class ClaimRefused(Exception):
    """A failed claim whose counted failure must be committed before `error` is raised."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _roster_match(
    session: Session, name: str, year: int, department_id: str | None, number: str | None
) -> list[Alumnus]:
    graduations = select(Graduation.alumnus_seq).where(Graduation.class_year == year)
    if number is None:
        graduations = graduations.where(Graduation.student_number.is_(None))
    else:
        graduations = graduations.where(Graduation.student_number == number)
    if department_id:
        graduations = graduations.where(
            Graduation.department_id.in_(departments.lineage_ids(department_id))
        )
    query = select(Alumnus).where(
        Alumnus.seq.in_(graduations),
        Alumnus.name == name,
        Alumnus.merged_into.is_(None),
        Alumnus.erased_at.is_(None),
    )
    return list(session.scalars(query).all())


def _has_account(session: Session, alumnus_id: str) -> bool:
    return (
        session.scalars(select(Account.id).where(Account.alumnus_id == alumnus_id)).first()
        is not None
    )


def _claim_by_number(
    session: Session,
    data: dict[str, Any],
    name: str,
    year: int,
    address: str | None,
    now: datetime,
    rules: ClaimRules,
) -> dict[str, Any]:
    found = _roster_match(
        session, name, year, data.get("department_id"), str(data["student_number"]).strip()
    )
    if len(found) != 1:
        count_attempt(session, name, year, address, now, rules)
        raise ClaimRefused(not_matched())
    alumnus = found[0]
    # Past this point the claimant has shown name, number and year: telling them that the
    # record has a login already, or where the code went (masked), tells them nothing new.
    if _has_account(session, alumnus.id):
        raise ClaimRefused(
            Conflict(
                "该校友已开通账号，请直接登录；忘记密码请联系校友会办公室。",
                reason="already_verified",
            )
        )
    channel = _channel(alumnus, data.get("channel"))
    if channel is None:
        raise ClaimRefused(
            Conflict(
                "名册中没有您的手机号或电子邮箱，无法发送验证码，请联系校友会办公室核实身份。",
                reason="no_contact_on_file",
            )
        )
    claim = AlumnusClaim(
        alumnus_id=alumnus.id,
        method=STUDENT_NUMBER,
        status=VERIFIED,
        department_id=data.get("department_id"),
        class_year=year,
        claimed_name=name,
        created_at=now,
        expires_at=now + timedelta(seconds=rules.claim_ttl_seconds),
        verified_at=now,
        code_attempts=0,
        codes_sent=0,
    )
    session.add(claim)
    session.flush()
    _issue_code(session, claim, alumnus, channel, now, rules)
    return claim_to_dict(claim, alumnus)


def _claim_by_vouching(
    session: Session,
    data: dict[str, Any],
    name: str,
    year: int,
    address: str | None,
    now: datetime,
    rules: ClaimRules,
) -> dict[str, Any]:
    department_id = str(data["department_id"])
    # Every vouching claim counts: each one asks classmates to act, so a flood of them
    # from one address, or for one person, is what the throttle is for.
    count_attempt(session, name, year, address, now, rules)
    found = _roster_match(session, name, year, department_id, None)
    found = [a for a in found if not _has_account(session, a.id)]
    claim = AlumnusClaim(
        alumnus_id=found[0].id if len(found) == 1 else None,
        method=VOUCH,
        status=AWAITING,
        department_id=department_id,
        class_year=year,
        claimed_name=name,
        created_at=now,
        expires_at=now + timedelta(seconds=rules.claim_ttl_seconds),
        code_attempts=0,
        codes_sent=0,
    )
    session.add(claim)
    session.flush()
    if claim.alumnus_id is not None:
        for voucher_id in verified_classmates(session, department_id, year, claim.alumnus_id):
            session.add(
                ClaimVouch(
                    claim_id=claim.id,
                    voucher_alumnus_id=voucher_id,
                    status="requested",
                    requested_at=now,
                )
            )
        session.flush()
    # The same answer whether or not a record matched (docs/community.md, Decision).
    return claim_to_dict(claim, None)


def verified_classmates(
    session: Session, department_id: str, year: int, except_alumnus_id: str
) -> list[str]:
    """Alumni of the department's lineage and class year who have an active login: those
    who may vouch. An account exists only for a record the office made a login for from
    the roster, or one verified by a claim, so a login is what "verified" means."""
    query = (
        select(Alumnus.id)
        .join(Graduation, Graduation.alumnus_seq == Alumnus.seq)
        .join(Account, Account.alumnus_id == Alumnus.id)
        .where(
            Graduation.class_year == year,
            Graduation.department_id.in_(departments.lineage_ids(department_id)),
            Account.active.is_(True),
            Alumnus.id != except_alumnus_id,
            Alumnus.merged_into.is_(None),
            Alumnus.erased_at.is_(None),
        )
        .distinct()
    )
    return list(session.scalars(query).all())


def _channel(alumnus: Alumnus, asked: str | None) -> str | None:
    """The channel asked for when that contact is on file, else e-mail, else SMS."""
    on_file = {EMAIL: bool(alumnus.email), SMS: bool(alumnus.phone)}
    if asked and on_file.get(asked):
        return asked
    return next((c for c in (EMAIL, SMS) if on_file[c]), None)


def _code_hash(claim_id: str, code: str) -> str:
    return crypto.blind_index(f"claim-code:{claim_id}:{code}")


def _code_matches(claim: AlumnusClaim, code: str) -> bool:
    # Every key's index: a code issued just before a key rotation still verifies.
    candidates = crypto.blind_indexes(f"claim-code:{claim.id}:{code}")
    return any(hmac.compare_digest(claim.code_hash or "", c) for c in candidates)


def _issue_code(
    session: Session,
    claim: AlumnusClaim,
    alumnus: Alumnus,
    channel: str,
    now: datetime,
    rules: ClaimRules,
) -> None:
    """A fresh code for the claim (any earlier one stops working), sent through notify.
    The code exists in clear only here and, sealed, in the event."""
    if claim.codes_sent >= rules.codes_per_claim:
        raise Conflict("验证码发送次数已达上限，请重新提交认证。", reason="too_many_codes")
    code = f"{secrets.randbelow(10**6):06d}"
    expires = now + timedelta(seconds=rules.code_ttl_seconds)
    claim.code_hash = _code_hash(claim.id, code)
    claim.code_channel = channel
    claim.code_expires_at = expires
    claim.code_attempts = 0
    claim.codes_sent += 1
    OutboxMessage.record(
        session,
        "claim_code_issued",
        {
            "claim_id": claim.id,
            "alumnus_id": alumnus.id,
            "channel": channel,
            "code_sealed": crypto.encrypt(code, CODE_CONTEXT),
            "expires_at": iso_utc(expires),
            "ttl_minutes": max(1, round(rules.code_ttl_seconds / 60)),
        },
    )


def _claim(session: Session, claim_id: str, now: datetime) -> AlumnusClaim:
    claim = session.scalars(
        select(AlumnusClaim).where(AlumnusClaim.id == str(claim_id)).with_for_update()
    ).first()
    if claim is None:
        raise NotFound("认证申请不存在。", reason="claim_not_found")
    if claim.status in (AWAITING, VERIFIED) and aware(claim.expires_at) <= now:
        claim.status = EXPIRED
    return claim


def get_claim(session: Session, claim_id: str, now: datetime) -> dict[str, Any]:
    claim = _claim(session, claim_id, now)
    alumnus = _alumnus_of(session, claim)
    return claim_to_dict(claim, alumnus)


def _alumnus_of(session: Session, claim: AlumnusClaim) -> Alumnus | None:
    if claim.alumnus_id is None:
        return None
    return session.scalars(select(Alumnus).where(Alumnus.id == claim.alumnus_id)).first()


def send_new_code(
    session: Session, claim_id: str, asked: str | None, now: datetime, rules: ClaimRules
) -> dict[str, Any]:
    """Another code for a verified claim (the first expired or was lost)."""
    claim = _claim(session, claim_id, now)
    if claim.status != VERIFIED:
        raise _not_verified(claim)
    alumnus = _alumnus_of(session, claim)
    channel = _channel(alumnus, asked) if alumnus is not None else None
    if channel is None:
        raise Conflict(
            "名册中没有您的手机号或电子邮箱，无法发送验证码，请联系校友会办公室核实身份。",
            reason="no_contact_on_file",
        )
    _issue_code(session, claim, alumnus, channel, now, rules)
    return claim_to_dict(claim, alumnus)


def _not_verified(claim: AlumnusClaim) -> Conflict:
    messages = {
        AWAITING: "认证尚未完成：还在等待同班校友担保。",
        ACTIVATED: "该认证已开通账号，请直接登录。",
        EXPIRED: "认证申请已过期，请重新提交。",
    }
    return Conflict(
        messages.get(claim.status, "认证尚未完成。"),
        {"status": claim.status},
        reason="claim_not_verified",
    )


def check_code(session: Session, claim_id: str, code: str, now: datetime, rules: ClaimRules) -> str:
    """The claim's alumnus when `code` is its current code; each wrong try counts, and the
    code dies after `code_max_attempts` of them. The caller commits in every case."""
    claim = _claim(session, claim_id, now)
    if claim.status != VERIFIED or claim.alumnus_id is None:
        raise _not_verified(claim)
    if claim.code_hash is None or aware(claim.code_expires_at) <= now:
        raise _code_refused("验证码已过期，请重新获取。", "code_expired")
    if claim.code_attempts >= rules.code_max_attempts:
        raise _code_refused("验证码错误次数过多，已失效，请重新获取。", "code_exhausted")
    if not _code_matches(claim, code):
        claim.code_attempts += 1
        left = rules.code_max_attempts - claim.code_attempts
        raise _code_refused(f"验证码不正确（还可尝试 {left} 次）。", "wrong_code")
    return claim.alumnus_id


def _code_refused(message: str, reason: str) -> ValidationFailed:
    return ValidationFailed(message, {"fields": {"code": [message]}}, reason=reason)


def finish_activation(
    session: Session, claim_id: str, code: str, account_id: str, now: datetime
) -> None:
    """Mark the claim activated by `account` (made in the same transaction), if the code
    is still the claim's: two activations at once make one account."""
    claim = _claim(session, claim_id, now)
    if claim.status != VERIFIED or not _code_matches(claim, code):
        raise _not_verified(claim)
    claim.status = ACTIVATED
    claim.activated_at = now
    claim.account_id = account_id
    claim.code_hash = None  # used up


def claim_to_dict(claim: AlumnusClaim, alumnus: Alumnus | None) -> dict[str, Any]:
    sent_to = None
    if claim.status == VERIFIED and alumnus is not None and claim.code_channel:
        value = alumnus.email if claim.code_channel == EMAIL else alumnus.phone
        sent_to = mask("email" if claim.code_channel == EMAIL else "phone", value)
    return {
        "claim_id": claim.id,
        "method": claim.method,
        "status": claim.status,
        "channel": claim.code_channel if claim.status == VERIFIED else None,
        "sent_to": sent_to,
        "code_expires_at": (
            iso_utc(claim.code_expires_at)
            if claim.status == VERIFIED and claim.code_expires_at
            else None
        ),
        "expires_at": iso_utc(claim.expires_at),
    }


# ---- vouching ------------------------------------------------------------------------------


def list_vouch_requests(
    session: Session, voucher_alumnus_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    """The vouch requests addressed to one alumnus, newest first."""
    query = select(ClaimVouch, AlumnusClaim).join(
        AlumnusClaim, AlumnusClaim.id == ClaimVouch.claim_id
    )
    query = query.where(ClaimVouch.voucher_alumnus_id == voucher_alumnus_id)
    if params.get("status"):
        query = query.where(ClaimVouch.status == params["status"])
    rows = session.execute(
        paged_select(query, [ClaimVouch.seq], params, (int,), descending=True)
    ).all()
    return page(rows, params["limit"], lambda r: [r[0].seq], each(lambda r: vouch_to_dict(*r)))


def vouch_to_dict(vouch: ClaimVouch, claim: AlumnusClaim) -> dict[str, Any]:
    return {
        "id": vouch.id,
        "claim_id": claim.id,
        "claimant_name": claim.claimed_name,
        "class_year": claim.class_year,
        "department_id": claim.department_id,
        "status": vouch.status,
        "requested_at": iso_utc(vouch.requested_at),
        "decided_at": iso_utc(vouch.decided_at) if vouch.decided_at else None,
    }


def decide_vouch(
    session: Session,
    vouch_id: str,
    step: str,
    voucher_alumnus_id: str,
    now: datetime,
    rules: ClaimRules,
) -> dict[str, Any]:
    """A classmate approves or declines; the approval that makes `vouches_needed` verifies
    the claim and sends its code. Only the classmate asked may answer (404 for anyone
    else), and only while they are verified themselves."""
    vouch = session.scalars(
        select(ClaimVouch)
        .where(ClaimVouch.id == str(vouch_id), ClaimVouch.voucher_alumnus_id == voucher_alumnus_id)
        .with_for_update()
    ).first()
    if vouch is None:
        raise NotFound("担保请求不存在。", reason="vouch_not_found")
    if not _has_active_account(session, voucher_alumnus_id):
        raise PermissionDenied("只有已认证的同班校友可以担保。", reason="voucher_not_verified")
    claim = _claim(session, vouch.claim_id, now)
    vouch.status = VOUCH_FLOW.target(vouch.status, step)
    vouch.decided_at = now
    if claim.status == VERIFIED:
        raise Conflict("该认证已完成，无需再担保。", reason="claim_already_verified")
    if claim.status != AWAITING:
        raise _not_verified(claim)
    session.flush()
    approvals = session.scalar(
        select(func.count())
        .select_from(ClaimVouch)
        .join(Account, Account.alumnus_id == ClaimVouch.voucher_alumnus_id)
        .where(
            ClaimVouch.claim_id == claim.id,
            ClaimVouch.status == "approved",
            Account.active.is_(True),
        )
    )
    if approvals >= rules.vouches_needed:
        claim.status = VERIFIED
        claim.verified_at = now
        alumnus = _alumnus_of(session, claim)
        channel = _channel(alumnus, None) if alumnus is not None else None
        if channel is not None:
            _issue_code(session, claim, alumnus, channel, now, rules)
    return vouch_to_dict(vouch, claim)


def _has_active_account(session: Session, alumnus_id: str) -> bool:
    return (
        session.scalars(
            select(Account.id).where(Account.alumnus_id == alumnus_id, Account.active.is_(True))
        ).first()
        is not None
    )
