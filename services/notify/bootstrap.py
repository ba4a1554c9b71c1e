"""Launch hook: the first version of every template, written before the service starts."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from services.common import config
from services.common.columns import utcnow
from services.common.db import make_engine
from services.notify.templates import ensure_defaults


def ensure_default_templates(url: str | None = None) -> int:
    engine = make_engine(url or config.database_url("notify"), pool_size=1)
    try:
        with sessionmaker(engine)() as session:
            try:
                created = ensure_defaults(session, utcnow())
                session.commit()
            except IntegrityError:  # another instance starting at the same time wrote them
                return 0
            return created
    finally:
        engine.dispose()
