"""The registry's launch hook: the first office account (services/common/catalogue.py)."""

from __future__ import annotations

import sys

from sqlalchemy.orm import Session

from services.common import config
from services.common.db import make_engine
from services.common.errors import ValidationFailed
from services.registry import domain


def ensure_admin_account() -> None:
    """Make sure an office account exists, from ALUMNI_ADMIN_USERNAME / ALUMNI_ADMIN_PASSWORD
    (`make run` generates the password when none is set)."""
    username, password = config.admin_username(), config.admin_password()
    engine = make_engine(config.database_url("registry"), pool_size=1)
    try:
        with Session(engine) as session:
            if password is None:
                if not domain.has_office_account(session):
                    print("警告：没有办公室账号，且未设置 ALUMNI_ADMIN_PASSWORD。", file=sys.stderr)
                return
            try:
                created = domain.ensure_admin(session, username, password)
            except ValidationFailed as weak:
                # The first office account meets the password policy like any other: refusing
                # to start beats running with a guessable administrator password.
                sys.exit(f"ALUMNI_ADMIN_PASSWORD 不符合密码规则：{weak.message}")
            if created:
                print(f"管理员账号已创建 / admin account created: {username}", flush=True)
            session.commit()
    finally:
        engine.dispose()
