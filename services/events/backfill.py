"""Copy alumni the events service's roster has never heard of from the registry.

python -m services.events.backfill [--timeout SECONDS]

For alumni registered before the events service's queues existed: their
`alumnus_registered` events were dropped, so they are not in its roster. The
work is the events service's RPC `backfill_roster` (it pages through the
registry itself); this command only calls it, on `AMQP_URI`, and reports.
Safe to run again, and while the services serve: a newer roster entry is never
overwritten by an older record.
"""

from __future__ import annotations

import argparse
import sys
import time

DEFAULT_TIMEOUT_SECONDS = 3600.0
HEALTH_TIMEOUT_SECONDS = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.events.backfill",
        description="回填活动服务的校友花名册 / Backfill the events service's alumni roster.",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help="等待结果的秒数 / seconds to wait for the result (default %(default)g)",
    )
    args = parser.parse_args(argv)

    from nameko.standalone.rpc import ClusterRpcProxy

    from services.common import config

    cluster_config = {"AMQP_URI": config.operator_amqp_uri(), "AMQP_SSL": config.amqp_ssl()}
    # A missing events service would otherwise keep the operator waiting the whole timeout.
    try:
        with ClusterRpcProxy(cluster_config, timeout=HEALTH_TIMEOUT_SECONDS) as cluster:
            cluster.events.health()
    except Exception as error:  # noqa: BLE001
        print(
            f"活动服务没有应答 / The events service does not answer: {type(error).__name__}",
            file=sys.stderr,
        )
        return 1

    print("正在从校友信息库回填花名册…… / Backfilling the roster from the registry…", flush=True)
    started = time.monotonic()
    try:
        with ClusterRpcProxy(cluster_config, timeout=args.timeout) as cluster:
            result = cluster.events.backfill_roster()
    except Exception as error:  # noqa: BLE001 - an operator command: report and exit non-zero
        print(f"回填失败 / Backfill failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started
    print(
        f"回填完成：{result['pages']} 页，{result['alumni']} 位校友，用时 {elapsed:.1f} 秒。 / "
        f"Backfill done: {result['pages']} pages, {result['alumni']} alumni, {elapsed:.1f} s.",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
