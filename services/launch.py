"""Start one service of the catalogue on its own broker account (`config.service_amqp_uri`):
bring its database to the latest schema, run its launch hooks, then serve it with nameko in
this same process (services/common/serve.py), which declares the service's event queues
before it serves.

    python -m services.launch <service>     (the names: services/common/catalogue.py)
    python -m services.launch <service> --migrations wait
        on a cluster, where a Job migrates before the services start (deploy/k8s): wait
        for the database to be at head instead of migrating
"""

from __future__ import annotations

# First, as `nameko run` does: eventlet patches the standard library before anything that
# uses sockets or threads is imported (the migrations run in the serving process too).
from services.common import serve  # isort: skip

import argparse  # noqa: E402
import importlib  # noqa: E402
import logging.config  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from services.common import catalogue, config  # noqa: E402
from services.common.migrate import upgrade, wait_for_head  # noqa: E402


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
    sys.stdout.flush()
    # Served here, not by a new interpreter: one more process start imported Python,
    # SQLAlchemy and the platform's modules again (0.6-0.9 s of CPU at every start).
    serve.main([entry.entrypoint])


if __name__ == "__main__":
    main()
