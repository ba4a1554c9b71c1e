"""The registry's launch hook: the first office account (services/common/catalogue.py)."""

from __future__ import annotations

import sys

from sqlalchemy.orm import Session

from services.common import config
from services.common.db import make_engine
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
            if domain.ensure_admin(session, username, password):
                print(f"管理员账号已创建 / admin account created: {username}", flush=True)
            session.commit()
    finally:
        engine.dispose()
