"""Start one service of the catalogue on its own broker account (`config.service_amqp_uri`):
bring its database to the latest schema, run its launch hooks, then hand over to nameko
(services/common/serve.py), which declares the service's event queues before it serves.

    python -m services.launch <service>     (the names: services/common/catalogue.py)
    python -m services.launch <service> --migrations wait
        on a cluster, where a Job migrates before the services start (deploy/k8s): wait
        for the database to be at head instead of migrating
"""

from __future__ import annotations

import argparse
import importlib
import logging.config
import os
import sys

from services.common import catalogue, config
from services.common.migrate import upgrade, wait_for_head


def nameko_run_command(target: str) -> list[str]:
    """The command that serves `target` (a module, or "module:Class") with the platform's
    configuration (services/common/serve.py)."""
    return [sys.executable, "-m", "services.common.serve", target]


def run_hook(hook: str) -> None:
    module_name, _, function = hook.partition(":")
    getattr(importlib.import_module(module_name), function)()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Migrate and run one service.")
    parser.add_argument("service", choices=catalogue.names())
    parser.add_argument(
        "--migrations",
        choices=("run", "wait"),
        default="run",
        help="run the migrations (default), or wait for a migrations Job to have run them",
    )
    args = parser.parse_args(argv)
    config.private_files()
    logging.config.dictConfig(config.nameko_config()["LOGGING"])
    entry = catalogue.by_name(args.service)
    # From here on the service, and nameko after the exec, connect with its own account.
    os.environ["AMQP_URI"] = config.service_amqp_uri(entry.name)
    if entry.database and args.migrations == "run":
        upgrade(entry.name)
    elif entry.database:
        wait_for_head(entry.name)
    for hook in entry.on_launch:
        run_hook(hook)
    # Its event queues are declared by the serving process, which imports the service
    # class anyway (services/common/serve.py): imported here too, it cost every start a
    # second import of the whole service (3 s of CPU for the registry).
    command = nameko_run_command(entry.entrypoint)
    sys.stdout.flush()
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
