"""The deploy files that list services, generated from the service catalogue.

    python -m services.deployfiles          # write deploy/docker-compose.yml, postgres-init.sql,
                                            # the broker's definitions and its entrypoint, and
                                            # the cluster's manifests (deploy/k8s/base)
    python -m services.deployfiles --check  # exit 1 when a committed file is out of date

`make deploy-files` runs the first; a test runs the second, so a new catalogue entry
cannot leave compose, the database init script or the broker's accounts behind.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services import broker_accounts
from services.common import catalogue, config
from services.common.catalogue import HTTP_PROBE, ServiceEntry

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "deploy" / "docker-compose.yml"
POSTGRES_INIT_FILE = ROOT / "deploy" / "postgres-init.sql"
BROKER_DEFINITIONS_FILE = ROOT / "deploy" / "rabbitmq-definitions.json"
BROKER_ENTRYPOINT_FILE = ROOT / "deploy" / "rabbitmq-entrypoint.sh"
BROKER_CONF_FILE = ROOT / "deploy" / "rabbitmq.conf"
RENDERED_DEFINITIONS = "/tmp/alumni-definitions.json"
GATEWAY_PORT = 8000
GATEWAY_HOST_PORTS = 10

COMPOSE_HEADER = """\
# Alumni platform: RabbitMQ, PostgreSQL and the nameko services, one image for all.
# GENERATED from services/common/catalogue.py by `make deploy-files`; edit the generator
# (services/deployfiles.py), not this file.
#
#   JWT_SECRET=... ALUMNI_ADMIN_PASSWORD=... \\
#     docker compose -f deploy/docker-compose.yml up --build
#
# Required from the environment (or an .env file next to where you run compose):
#   JWT_SECRET             signing key for access/refresh tokens
#   CALLER_KEY             signs the caller of every call between services (gateway → service)
#   ALUMNI_ADMIN_PASSWORD  password of the bootstrap admin account
#   PII_KEYS               a long random string (newest first, comma-separated, while a
#                          key is rotated): the key of personal data in every database
#                          (keep it; docs/security/data-at-rest.md)
#   DONOR_ID_KEY           a long random string: the key of donors' ID numbers (rotated
#                          like PII_KEYS)
#                          (keep it: ID numbers stored under it cannot be read without it)
#   CARD_SIGNING_KEY       the electronic alumni cards' Ed25519 signing key (PEM, or a long
#                          random string it is derived from; keep it: gates hold its
#                          public key, docs/community.md)
#   NOTIFY_SMTP_ADDRESS    the mail relay notify sends through, host:port
#   NOTIFY_PUBLIC_URL      the address alumni open links in mail at (the gateway's)
#   NOTIFY_UNSUBSCRIBE_SECRET  signs one-click unsubscribe links (keep it: links already
#                          mailed are signed with it)
#   BROKER_PASSWORD_<SERVICE>  one per service (REGISTRY, EVENTS, DONATIONS, NOTIFY,
#                          GATEWAY): its RabbitMQ account's password, letters, digits, - and
#                          _ only. The broker loads its accounts, permissions and queues from
#                          rabbitmq-definitions.json at boot, each password put in by
#                          rabbitmq-entrypoint.sh; each service gets its own password only
#                          (docs/security/broker.md). The broker's default account (guest)
#                          has no permission on the platform's vhost, `alumni`.
# They are written as ${VAR:?message}: compose refuses to start (with that message)
# when one is unset or empty, instead of running with a blank secret.
# Optional: ALUMNI_ADMIN_USERNAME (default admin), LOG_LEVEL (default INFO); for online
# giving and e-bills the provider's and the platform's addresses and keys
# (PAYMENT_PROVIDER_ADDRESS, PAYMENT_API_KEY, PAYMENT_NOTIFY_URL, EBILL_PLATFORM_ADDRESS,
# EBILL_API_KEY: docs/donations.md); without them offline gifts work and online orders
# answer 503; notify's SMTP login and STARTTLS, sender, and SMS provider (NOTIFY_SMTP_*,
# NOTIFY_MAIL_FROM, NOTIFY_SMS_PROVIDER (default log), NOTIFY_SMS_ADDRESS,
# NOTIFY_SMS_ACCESS_KEY_SECRET: docs/notify.md).
#
# This machine has no Docker engine: tests/unit/test_deploy_manifests.py checks this
# file against the Compose JSON schema and against the project (modules, databases).
# The schema revision vendored in tests/schemas/ predates the top-level `name` key,
# so the project name comes from -p / COMPOSE_PROJECT_NAME (default: deploy).
"""

INFRASTRUCTURE = """\
services:
  rabbitmq:
    image: rabbitmq:3.13-management
    # A fixed hostname keeps the node name (rabbit@rabbitmq) and so its data stable.
    hostname: rabbitmq
    restart: unless-stopped
    # Puts the services' passwords into the definitions, then starts RabbitMQ, which loads
    # them (rabbitmq.conf): the platform's vhost, one account per service, every queue.
    entrypoint: ["sh", "/etc/alumni/rabbitmq-entrypoint.sh"]
    environment:
{broker_passwords}
    volumes:
      - rabbitmq-data:/var/lib/rabbitmq
      - ./rabbitmq-definitions.json:/etc/alumni/rabbitmq-definitions.json:ro
      - ./rabbitmq-entrypoint.sh:/etc/alumni/rabbitmq-entrypoint.sh:ro
      - ./rabbitmq.conf:/etc/rabbitmq/conf.d/20-alumni.conf:ro
    ports:
      # Management UI, on the host's loopback only.
      - "127.0.0.1:15672:15672"
    healthcheck:
      test: ["CMD", "rabbitmq-diagnostics", "-q", "ping"]
      interval: 10s
      timeout: 10s
      retries: 6
      start_period: 30s

  postgres:
    image: postgres:15
    restart: unless-stopped
    environment:
      POSTGRES_USER: alumni
      POSTGRES_PASSWORD: alumni
      POSTGRES_DB: alumni
    volumes:
      - postgres-data:/var/lib/postgresql/data
      # Creates the per-service databases on first start (empty volume only).
      - ./postgres-init.sql:/docker-entrypoint-initdb.d/10-create-databases.sql:ro
    healthcheck:
      # Over TCP: the image's temporary init-time server listens on the socket only,
      # so this turns healthy only once the init script has run and the real server is up.
      test: ["CMD", "pg_isready", "-U", "alumni", "-d", "alumni", "-h", "127.0.0.1"]
      interval: 5s
      timeout: 5s
      retries: 10
      start_period: 10s
"""

VOLUMES = """\
volumes:
  postgres-data:
  rabbitmq-data:
"""


def compose_file() -> str:
    environment = [
        "# Environment shared by every application service.",
        "x-app-environment: &app-environment",
    ]
    # The broker and vhost only: each service connects with its own account
    # (BROKER_PASSWORD_<SERVICE>, in its own block; services/common/config.py).
    vhost = config.DEFAULTS["BROKER_VHOST"]
    environment.append(f"  AMQP_URI: amqp://rabbitmq:5672/{vhost}")
    for entry in catalogue.with_database():
        environment.append(
            f"  {entry.database_url_variable}: "
            f"postgresql+psycopg2://alumni:alumni@postgres:5432/{entry.name}"
        )
    environment += [
        '  JWT_SECRET: "${JWT_SECRET:?set JWT_SECRET to a long random string}"',
        '  CALLER_KEY: "${CALLER_KEY:?set CALLER_KEY to a long random string}"',
        '  PII_KEYS: "${PII_KEYS:?set PII_KEYS to a long random string, and keep it}"',
        '  ALUMNI_ADMIN_USERNAME: "${ALUMNI_ADMIN_USERNAME:-admin}"',
        '  ALUMNI_ADMIN_PASSWORD: "${ALUMNI_ADMIN_PASSWORD:?set ALUMNI_ADMIN_PASSWORD for the '
        'bootstrap admin}"',
        "  ALUMNI_VAR_DIR: /app/var",
        '  LOG_LEVEL: "${LOG_LEVEL:-INFO}"',
    ]
    for entry in catalogue.SERVICES:
        environment += [f'  {name}: "{value}"' for name, value in entry.deploy_environment]
    app = [
        "# Build/image settings shared by every application service (one image for all).",
        "x-app: &app",
        "  image: alumni-platform:latest",
        "  build:",
        "    context: ..",
        "    dockerfile: deploy/Dockerfile",
        "  restart: unless-stopped",
        "  environment: *app-environment",
    ]
    passwords = "\n".join(
        f'      {variable}: "{_required_password(variable)}"' for variable in _password_variables()
    )
    infrastructure = INFRASTRUCTURE.replace("{broker_passwords}", passwords)
    blocks = [COMPOSE_HEADER, "\n".join(environment) + "\n", "\n".join(app) + "\n", infrastructure]
    blocks += [_service_block(entry) for entry in catalogue.SERVICES]
    blocks.append(VOLUMES)
    return "\n".join(blocks)


def _service_block(entry: ServiceEntry) -> str:
    lines = [f"  {entry.name}:", "    <<: *app"]
    if entry.database:
        lines.append("    # Runs its Alembic migrations, then serves (services/launch.py).")
    lines.append(f'    command: ["python", "-m", "services.launch", "{entry.name}"]')
    lines += ["    environment:", "      <<: *app-environment"]
    variable = _password_variable(entry.name)
    lines.append(f'      {variable}: "{_required_password(variable)}"')
    if entry.readiness == HTTP_PROBE:
        lines.append(f"      WEB_SERVER_ADDRESS: 0.0.0.0:{GATEWAY_PORT}")
    lines.append("    depends_on:")
    lines += _condition("rabbitmq")
    if entry.database:
        lines += _condition("postgres")
    if entry.readiness == HTTP_PROBE:
        last_host_port = GATEWAY_PORT + GATEWAY_HOST_PORTS - 1
        for other in catalogue.rpc_services():
            lines += _condition(other.name)
        lines += [
            "    ports:",
            "      # On the host's loopback only: a TLS proxy on the host is the public door",
            "      # (docs/deploy.md), so tokens and personal data never cross a network in clear.",
            "      # A range, so that `--scale gateway=N` gives each instance a port of its own",
            "      # (the proxy balances over them: docs/operations.md).",
            f'      - "127.0.0.1:{GATEWAY_PORT}-{last_host_port}:{GATEWAY_PORT}"',
        ]
    lines.append("    healthcheck:")
    if entry.readiness == HTTP_PROBE:
        lines.append(f"      # Exit 0 when GET http://127.0.0.1:{GATEWAY_PORT}/health answers 200.")
    else:
        lines.append(
            f"      # Exit 0 when {entry.name} answers an RPC `health` call over RabbitMQ."
        )
    lines += [
        f'      test: ["CMD", "python", "-m", "services.healthcheck", "{entry.name}"]',
        "      interval: 10s",
        "      timeout: 10s",
        "      retries: 6",
        "      start_period: 30s",
    ]
    return "\n".join(lines) + "\n"


def _condition(service: str) -> list[str]:
    return [f"      {service}:", "        condition: service_healthy"]


def _password_variable(service: str) -> str:
    return f"BROKER_PASSWORD_{service.upper()}"


def _password_variables() -> list[str]:
    return [_password_variable(name) for name in catalogue.names()]


def _required_password(variable: str) -> str:
    return f"${{{variable}:?set {variable}: letters, digits, - and _}}"


def rabbitmq_entrypoint() -> str:
    """The broker container's entrypoint: the definitions with each service account's
    password from the environment (refused when unset or with a character that would need
    quoting), then the image's own entrypoint."""
    prefix = config.DEFAULTS["BROKER_USER_PREFIX"]
    lines = [
        "#!/bin/sh",
        "# GENERATED from services/common/catalogue.py by `make deploy-files`.",
        "# The broker's container runs this: it puts each service account's password into the",
        "# platform's definitions and starts RabbitMQ, which loads them (rabbitmq.conf).",
        "set -eu",
        "check() {",
        '    case "$2" in',
        '        "" | *[!A-Za-z0-9_-]*)',
        '            echo "rabbitmq: set $1 (letters, digits, - and _ only)" >&2',
        "            exit 1 ;;",
        "    esac",
        "}",
    ]
    lines += [f'check {v} "${{{v}:-}}"' for v in _password_variables()]
    lines.append("sed \\")
    for name in catalogue.names():
        slot = broker_accounts.password_slot(f"{prefix}{name}")
        filled = slot.replace(
            '"password_hash": ""', f'"password": "\'"${_password_variable(name)}"\'"'
        )
        lines.append(f"    -e 's|{slot}|{filled}|' \\")
    lines += [
        f"    /etc/alumni/rabbitmq-definitions.json > {RENDERED_DEFINITIONS}",
        f"chmod 644 {RENDERED_DEFINITIONS}",
        "exec docker-entrypoint.sh rabbitmq-server",
    ]
    return "\n".join(lines) + "\n"


def rabbitmq_conf() -> str:
    return (
        "# GENERATED by `make deploy-files`: the definitions rabbitmq-entrypoint.sh renders.\n"
        f"load_definitions = {RENDERED_DEFINITIONS}\n"
    )


def postgres_init_file() -> str:
    lines = [
        "-- GENERATED from services/common/catalogue.py by `make deploy-files`.",
        "-- Run once by the postgres image on first start (empty data volume), as the",
        "-- POSTGRES_USER superuser (alumni). One database per service that owns data;",
        "-- each service's Alembic migrations create its tables at launch.",
    ]
    lines += [f"CREATE DATABASE {entry.name} OWNER alumni;" for entry in catalogue.with_database()]
    return "\n".join(lines) + "\n"


def generated() -> dict[Path, str]:
    """Every generated deploy file with its content: compose's and the cluster's."""
    files = {
        COMPOSE_FILE: compose_file(),
        POSTGRES_INIT_FILE: postgres_init_file(),
        BROKER_DEFINITIONS_FILE: broker_accounts.definitions_file(),
        BROKER_ENTRYPOINT_FILE: rabbitmq_entrypoint(),
        BROKER_CONF_FILE: rabbitmq_conf(),
    }
    from services import k8sfiles

    files.update(k8sfiles.generated_files(rabbitmq_entrypoint(), postgres_init_file()))
    return files


def stale_files() -> list[Path]:
    return [
        path
        for path, content in generated().items()
        if not path.exists() or path.read_text() != content
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which files are stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)} (run `make deploy-files`)")
        return 1 if stale else 0
    for path, content in generated().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
