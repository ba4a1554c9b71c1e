"""Run one nameko service with the platform's configuration (services.common.config).

    python -m services.common.serve services.registry.service

What `nameko run --config <file>` does, with the configuration built in Python from the
one table of settings instead of a YAML file that would repeat the defaults, after
declaring the service's event queues (services/common/topology.py).
"""

from __future__ import annotations

import eventlet

# Before anything imports a socket user, as `nameko run` does.
eventlet.monkey_patch()

import logging.config  # noqa: E402
import sys  # noqa: E402

from nameko.cli.run import import_service, run  # noqa: E402

from services.common import config  # noqa: E402
from services.common.topology import declare_event_queues  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m services.common.serve <module>[:<Class>]", file=sys.stderr)
        raise SystemExit(2)
    config.private_files()
    settings = config.nameko_config()
    logging.config.dictConfig(settings["LOGGING"])
    services = import_service(args[0])
    # Its own queues only (its account may declare no other's), before it serves, waiting
    # for the broker if it is not up yet. Every consumer's queues also come with the
    # broker's definitions (services/broker_accounts.py).
    declare_event_queues(config.amqp_uri(), services)
    run(services, settings)


if __name__ == "__main__":
    main()
