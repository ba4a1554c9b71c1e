"""Container healthchecks: exit 0 when the named service of the catalogue answers.

python -m services.healthcheck registry   # readiness "rpc": a `health` call within 5 s
python -m services.healthcheck gateway    # readiness "http": GET /health on WEB_SERVER_ADDRESS
"""

from __future__ import annotations

import sys
import urllib.request

from services.common import catalogue, config

HEALTHCHECK_TIMEOUT_SECONDS = 5


def rpc_service_answers(service: str) -> bool:
    from nameko.standalone.rpc import ClusterRpcProxy

    try:
        # As the service itself: its account may call its own `health`.
        settings = {"AMQP_URI": config.service_amqp_uri(service), "AMQP_SSL": config.amqp_ssl()}
        with ClusterRpcProxy(settings, timeout=HEALTHCHECK_TIMEOUT_SECONDS) as cluster:
            return getattr(cluster, service).health()["status"] == "ok"
    except Exception:
        return False


def http_service_answers() -> bool:
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
    try:
        entry = catalogue.by_name(argv[0])
    except KeyError as error:
        print(error, file=sys.stderr)
        return 2
    if entry.readiness == catalogue.HTTP_PROBE:
        healthy = http_service_answers()
    else:
        healthy = rpc_service_answers(entry.name)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
