"""Start one service: bring its database to the latest schema, then hand over to `nameko run`.

    python -m services.launch registry|events|gateway

The registry also makes sure the first office account exists, from
ALUMNI_ADMIN_USERNAME / ALUMNI_ADMIN_PASSWORD (`make run` generates the
password when none is set).
"""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy.orm import Session

from services.common import config
from services.common.db import make_engine
from services.common.migrate import upgrade
from services.common.topology import declare_event_queues

ENTRYPOINTS = {
    "registry": "services.registry.service",
    "events": "services.events.service",
    "gateway": "gateway.service",
}
SERVICES_WITH_DATABASE = {"registry", "events"}


def ensure_admin_account() -> None:
    from services.registry import domain

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


def nameko_run_command(service: str) -> list[str]:
    """`nameko run` of `service` (a module, or "module:Class") with the project's config."""
    return [
        sys.executable,
        "-m",
        "nameko",
        "run",
        "--config",
        str(config.nameko_config_path()),
        service,
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Migrate and run one service.")
    parser.add_argument("service", choices=sorted(ENTRYPOINTS))
    args = parser.parse_args(argv)
    if args.service in SERVICES_WITH_DATABASE:
        upgrade(args.service)
    if args.service == "registry":
        ensure_admin_account()
    declare_event_queues(config.amqp_uri(), ENTRYPOINTS.values())
    command = nameko_run_command(ENTRYPOINTS[args.service])
    sys.stdout.flush()
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
