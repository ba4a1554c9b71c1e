"""Container healthchecks: exit 0 when the named service answers.

python -m services.healthcheck registry   # an RPC `health` call within 5 s
python -m services.healthcheck gateway    # GET /health on WEB_SERVER_ADDRESS
"""

from __future__ import annotations

import sys
import urllib.request

HEALTHCHECK_TIMEOUT_SECONDS = 5


def rpc_service_answers(service: str) -> bool:
    from nameko.standalone.rpc import ClusterRpcProxy

    from services.common import config

    try:
        with ClusterRpcProxy(
            {"AMQP_URI": config.amqp_uri()}, timeout=HEALTHCHECK_TIMEOUT_SECONDS
        ) as cluster:
            return getattr(cluster, service).health()["status"] == "ok"
    except Exception:
        return False


def gateway_answers() -> bool:
    from services.common import config

    host, _, port = config.web_server_address().rpartition(":")
    host = "127.0.0.1" if host in ("", "0.0.0.0") else host
    try:
        with urllib.request.urlopen(
            f"http://{host}:{port}/health", timeout=HEALTHCHECK_TIMEOUT_SECONDS
        ) as response:
            return response.status == 200
    except OSError:
        return False


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m services.healthcheck <service>", file=sys.stderr)
        return 2
    service = argv[0]
    healthy = gateway_answers() if service == "gateway" else rpc_service_answers(service)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
