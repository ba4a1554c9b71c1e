"""Passwords: the policy every password meets, and hashing (Argon2).

The policy (docs/security/identity.md) covers every way a password is set: accounts the
office creates, alumni logins, a user's own change, and the bootstrap admin of `make run`.
Hashing is slow on purpose (tens of milliseconds of CPU); the service runs it off its event
loop, a bounded number at a time (services/registry/service.py), so this module only says
what to compute.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.common.errors import ValidationFailed

MIN_LENGTH = 10
MAX_LENGTH = 200
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"

# Argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): a fifth of the CPU of
# argon2-cffi's default profile, so that a burst of logins costs the platform less; hashes
# made under other parameters still verify (they carry their own).
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified when the username is unknown, so that a failed login costs the same either way.
DUMMY_HASH = hasher.hash("not-a-real-password-placeholder")


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def policy_problem(password: str, username: str) -> tuple[str, str] | None:
    """(reason, Chinese message) of the first rule `password` breaks, or None."""
    if not password.strip():
        return "password_blank", "密码不能只由空白字符组成。"
    if len(password) < MIN_LENGTH:
        return "password_too_short", f"密码至少 {MIN_LENGTH} 个字符。"
    if len(password) > MAX_LENGTH:
        return "password_too_long", f"密码至多 {MAX_LENGTH} 个字符。"
    lowered = password.lower()
    # The username itself, or dressed up with digits and punctuation ("admin123!").
    named = _letters(username.lower())
    if username and (lowered.strip() == username.lower() or (named and _letters(lowered) == named)):
        return "password_is_username", "密码不能是用户名（或用户名加数字、符号）。"
    if lowered in common_passwords() or lowered.strip() in common_passwords():
        return "password_common", "该密码过于常见，请换一个更难猜的密码。"
    return None


def _letters(text: str) -> str:
    return "".join(ch for ch in text if ch.isalpha())


def check_policy(password: str, username: str, field: str = "password") -> None:
    """Raise ValidationFailed (422, naming `field`) when `password` breaks the policy."""
    problem = policy_problem(password, username)
    if problem is not None:
        reason, message = problem
        raise ValidationFailed(message, {"fields": {field: [message]}}, reason=reason)


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (unknown user) the dummy is verified."""
    try:
        return hasher.verify(password_hash or DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
