"""Configuration: every setting, its one default, and the one way to read it.

A setting is read from, in order: a nameko container's config (tests hand containers a
dict), the environment, the default below. `nameko_config()` builds the configuration
every service runs with from the same table, so no default is written twice (there is
no YAML file to keep in step).

Standard library only: any module may read configuration.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

DEFAULTS: dict[str, str] = {
    "AMQP_URI": "amqp://guest:guest@localhost:5672/",
    "WEB_SERVER_ADDRESS": "127.0.0.1:8000",
    "RPC_TIMEOUT": "10",
    "MAX_WORKERS": "10",
    # Publisher confirms on RPC replies (services/common/entrypoints.py RpcConsumer): off,
    # measured and argued in docs/PERFORMANCE.md ("Transport settings").
    "RPC_REPLY_CONFIRMS": "",
    "LOG_LEVEL": "INFO",
    "ALUMNI_VAR_DIR": "var",
    "ALUMNI_ADMIN_USERNAME": "admin",
    "OUTBOX_RELAY_PAUSED": "",
    "TASK_OVERDUE_SCAN_SECONDS": "3600",
    # donations: rules of the foundation
    "FOUNDATION_NAME": "校友教育发展基金会",
    "DONATION_AGREEMENT_THRESHOLD_FEN": "10000000",
    "DONATION_CERTIFICATE_MIN_FEN": "100000",
    "DONATIONS_SCAN_SECONDS": "3600",
    # donations: the payment provider (its local stand-in by default) and online orders
    "PAYMENT_PROVIDER_ADDRESS": "127.0.0.1:8810",
    "PAYMENT_MCHID": "1900000001",
    "PAYMENT_APPID": "wx0000000000000000",
    "PAYMENT_ORDER_TTL_SECONDS": "900",
    "PAYMENT_EXPIRY_SCAN_SECONDS": "60",
    "PAYMENT_STANDIN_RETRY_SECONDS": "1,2,4,8,16",
    # donations: the government e-bill platform (its local stand-in by default)
    "EBILL_PLATFORM_ADDRESS": "127.0.0.1:8811",
    # notify: outside systems (docs/notify.md). Credentials come from the environment only.
    "NOTIFY_SMTP_ADDRESS": "127.0.0.1:8025",
    "NOTIFY_SMTP_STARTTLS": "",
    "NOTIFY_SMTP_CONNECTIONS": "16",
    "NOTIFY_MAIL_FROM": "校友会 <alumni@example.edu.cn>",
    "NOTIFY_MAILBOX_WEB_ADDRESS": "127.0.0.1:8026",
    "NOTIFY_SMS_PROVIDER": "http",
    "NOTIFY_SMS_ADDRESS": "127.0.0.1:8027",
    "NOTIFY_SMS_SIGN_NAME": "校友会",
    "NOTIFY_SMS_ACCESS_KEY_ID": "alumni-platform",
    "NOTIFY_SMS_DAILY_CAP": "5",
    "NOTIFY_REMINDER_SCAN_SECONDS": "300",
    "NOTIFY_RECEIPT_FETCH_SECONDS": "5",
    "NOTIFY_PUBLIC_URL": "",
    "NOTIFY_OFFICE_EMAIL": "",
    "NOTIFY_CLOCK_START": "",
    # identity (docs/security/identity.md): login throttling, hashing, session checks
    "LOGIN_FREE_ATTEMPTS_PER_USER": "5",
    "LOGIN_FREE_ATTEMPTS_PER_ADDRESS": "20",
    "LOGIN_FIRST_LOCKOUT_SECONDS": "1",
    "LOGIN_MAX_LOCKOUT_SECONDS": "900",
    "LOGIN_WINDOW_SECONDS": "900",
    "PASSWORD_HASHES_AT_ONCE": "2",
    "PASSWORD_HASHES_WAITING": "1",
    "SESSION_CHECK_SECONDS": "5",
    "GATEWAY_LOGINS_AT_ONCE": "3",
    # gateway: its door (gateway/edge.py, docs/security/edge.md). Rates are requests per
    # second, bursts how many may come at once; each gateway instance counts on its own;
    # a rate of 0 turns that limit off.
    "GATEWAY_RATE_PER_ADDRESS": "50",
    "GATEWAY_BURST_PER_ADDRESS": "500",
    "GATEWAY_RATE_PER_ACCOUNT": "20",
    "GATEWAY_BURST_PER_ACCOUNT": "200",
    # Origins (scheme://host[:port], comma-separated) whose pages may call the API from a
    # browser; none by default.
    "GATEWAY_CORS_ORIGINS": "",
    # Addresses or networks of reverse proxies whose X-Forwarded-For names the client.
    "GATEWAY_TRUSTED_PROXIES": "",
    # eventlet's line per HTTP request on the gateway's log (gateway/edge.py): off, since a
    # request line carries search terms (names, phone numbers) into the log; measured and
    # argued in docs/performance/signups.md ("Transport settings").
    "GATEWAY_ACCESS_LOG": "",
    # local copies of the registry (services/common/snapshots.py): clock skew allowed
    "SNAPSHOT_MAX_AHEAD_SECONDS": "300",
    # the broker's accounts (services/broker_accounts.py, docs/security/broker.md)
    "BROKER_VHOST": "alumni",
    "BROKER_USER_PREFIX": "alumni-",
    "BROKER_MANAGEMENT_URL": "",
    "BROKER_PROVISION": "1",
    # `classic` on one node; `quorum` on a cluster (deploy/k8s): every event consumer's
    # queue and its retry and dead-letter queues (docs/operations.md)
    "EVENT_QUEUE_TYPE": "classic",
    "AMQP_SSL_CA_CERTS": "",
    "AMQP_SSL_CERTFILE": "",
    "AMQP_SSL_KEYFILE": "",
    # personal data at rest (docs/security/data-at-rest.md); the keys are `PII_KEYS`
    "OUTBOX_RETENTION_SECONDS": str(7 * 24 * 3600),
    "OUTBOX_PURGE_SCAN_SECONDS": "3600",
    # the access log's group commit waits at most this for the reads under way before it
    # commits (services/common/group_commit.py, docs/PERFORMANCE.md)
    "ACCESS_LOG_GATHER_SECONDS": "0.005",
    "HISTORY_CONTACT_RETENTION_SECONDS": str(365 * 24 * 3600),
    "HISTORY_MASK_SCAN_SECONDS": "3600",
    # registry stewardship: bulk import (docs/stewardship.md)
    "REGISTRY_IMPORT_MAX_BYTES": str(50 * 1024 * 1024),
    "REGISTRY_IMPORT_SCAN_SECONDS": "1",
    "REGISTRY_IMPORT_STALE_SECONDS": "60",
    "REGISTRY_IMPORT_APPLY_BATCH": "1000",
    # alumni verification, cards, directory (docs/community.md); the card key is the
    # secret `CARD_SIGNING_KEY`
    "CLAIM_CODE_TTL_SECONDS": "900",
    "CLAIM_CODE_MAX_ATTEMPTS": "5",
    "CLAIM_CODES_PER_CLAIM": "5",
    "CLAIM_TTL_SECONDS": str(7 * 24 * 3600),
    "CLAIM_FREE_ATTEMPTS_PER_ADDRESS": "10",
    "CLAIM_FREE_ATTEMPTS_PER_PERSON": "3",
    "CLAIM_VOUCHES_NEEDED": "2",
    "CARD_VALIDITY_DAYS": str(3 * 365),
    # statistics and publication (docs/stewardship.md, item 6): k of the map and the yearly
    # report (no published place or group under it), the largest export, and when last
    # year's report is published (MM-DD, checked every REGISTRY_REPORT_SCAN_SECONDS)
    "REGISTRY_MAP_MIN_COUNT": "5",
    "REGISTRY_EXPORT_MAX_ROWS": "10000",
    "REGISTRY_REPORT_PUBLISH_ON": "01-15",
    "REGISTRY_REPORT_SCAN_SECONDS": "5",
    # two-level stewardship: a record not confirmed for this many years is listed for its
    # department's liaison to check (docs/stewardship.md)
    "REGISTRY_CONFIRM_AFTER_YEARS": "3",
}
"""Settings with a default. Others have a rule instead, in their functions below:
`JWT_SECRET`, `ALUMNI_ADMIN_PASSWORD`, `<SERVICE>_DATABASE_URL`, `PAYMENT_NOTIFY_URL`,
and the secrets read with `secret()`: `CALLER_KEY` (services/common/caller.py), the
registry's `CARD_SIGNING_KEY` (services/registry/cards.py), the
donations' `DONOR_ID_KEY`, `PAYMENT_API_KEY`, `EBILL_API_KEY`; the broker's
`<SERVICE>_AMQP_URI` and `BROKER_PASSWORD_<SERVICE>` (`service_amqp_uri`); every
service's `PII_KEYS` (services/common/crypto.py); notify's
`NOTIFY_UNSUBSCRIBE_SECRET`, `NOTIFY_SMS_ACCESS_KEY_SECRET`, and `NOTIFY_SMTP_USERNAME` /
`NOTIFY_SMTP_PASSWORD` (from the environment only)."""

ACCESS_TOKEN_TTL_SECONDS = 15 * 60
REFRESH_TOKEN_TTL_SECONDS = 7 * 24 * 3600
TRUE_WORDS = {"1", "true", "yes", "on"}


def get(name: str, overrides: Mapping[str, Any] | None = None) -> str | None:
    """A setting as text: from `overrides` (a container's config), the environment, else its
    default (None when it has none)."""
    if overrides is not None and overrides.get(name) not in (None, ""):
        return str(overrides[name])
    value = os.environ.get(name)
    if value not in (None, ""):
        return value
    return DEFAULTS.get(name)


def get_float(name: str, overrides: Mapping[str, Any] | None = None) -> float:
    return float(get(name, overrides) or 0)


def get_int(name: str, overrides: Mapping[str, Any] | None = None) -> int:
    return int(get(name, overrides) or 0)


def get_flag(name: str, overrides: Mapping[str, Any] | None = None) -> bool:
    return (get(name, overrides) or "").strip().lower() in TRUE_WORDS


def var_dir() -> Path:
    """Directory for local state (SQLite files, generated secrets, logs): the owner's only
    (0700), since it holds keys and personal data."""
    path = Path(get("ALUMNI_VAR_DIR") or "var").resolve()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def private_files() -> None:
    """Make every file this process (and its children) creates the owner's only (0600):
    databases, logs and mailboxes under var/ hold personal data. Called first by each
    program that writes under var/ (services/run.py, services/launch.py, serve, stand-ins)."""
    os.umask(0o077)


def open_private_log(path: Path):
    """`path` opened for appending bytes, created 0600 whatever the process's umask."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")


def amqp_uri(overrides: Mapping[str, Any] | None = None) -> str:
    return get("AMQP_URI", overrides) or ""


def broker_username(service: str, overrides: Mapping[str, Any] | None = None) -> str:
    """The broker account `service` connects as, and so the `user_id` its events carry:
    the user of `<SERVICE>_AMQP_URI` when that is set, else `BROKER_USER_PREFIX<service>`."""
    explicit = get(f"{service.upper()}_AMQP_URI", overrides)
    if explicit:
        return uri_username(explicit)
    return (get("BROKER_USER_PREFIX", overrides) or "") + service


def uri_username(uri: str) -> str:
    """The user an AMQP URI logs in as (kombu's default, guest, when it names none)."""
    return unquote(urlsplit(uri).username or "guest")


def broker_password(service: str, overrides: Mapping[str, Any] | None = None) -> str:
    """`BROKER_PASSWORD_<SERVICE>` from the environment, else generated once under var/."""
    return secret(f"BROKER_PASSWORD_{service.upper()}", overrides)


def service_amqp_uri(service: str, overrides: Mapping[str, Any] | None = None) -> str:
    """The URI `service` connects with: `<SERVICE>_AMQP_URI` when set, else `AMQP_URI`'s
    broker and vhost with the service's own account (`broker_username`, `broker_password`)."""
    explicit = get(f"{service.upper()}_AMQP_URI", overrides)
    if explicit:
        return explicit
    base = urlsplit(platform_amqp_uri(overrides))
    credentials = (
        f"{quote(broker_username(service, overrides), safe='')}:"
        f"{quote(broker_password(service, overrides), safe='')}"
    )
    address = base.netloc.rpartition("@")[2]
    return urlunsplit((base.scheme, f"{credentials}@{address}", base.path, base.query, ""))


def platform_amqp_uri(overrides: Mapping[str, Any] | None = None) -> str:
    """`AMQP_URI`, on the platform's vhost (`BROKER_VHOST`) when it names none."""
    base = urlsplit(amqp_uri(overrides))
    if base.path not in ("", "/"):
        return amqp_uri(overrides)
    vhost = "/" + quote(get("BROKER_VHOST", overrides) or "", safe="")
    return urlunsplit((base.scheme, base.netloc, vhost, base.query, ""))


def operator_amqp_uri(overrides: Mapping[str, Any] | None = None) -> str:
    """What operator commands on this machine (roster backfill, demo data) connect with:
    the gateway's account, the one that may call every service (docs/security/broker.md)."""
    return service_amqp_uri("gateway", overrides)


EVENT_QUEUE_TYPES = ("classic", "quorum")


def event_queue_arguments(
    overrides: Mapping[str, Any] | None = None, queue_type: str | None = None
) -> dict[str, str]:
    """The declaration arguments of every event consumer's queues: the queue type
    (`EVENT_QUEUE_TYPE`, or `queue_type` when given). A queue's type is fixed when it is
    first declared, so every declarer (the services, the broker's definitions) asks this.
    Classic is the broker's default and is declared without the argument, as queues were
    before there was a choice (a declaration that adds it to an existing queue fails)."""
    chosen = queue_type or get("EVENT_QUEUE_TYPE", overrides)
    if chosen not in EVENT_QUEUE_TYPES:
        raise ValueError(f"EVENT_QUEUE_TYPE must be one of {EVENT_QUEUE_TYPES}, not {chosen!r}")
    return {} if chosen == "classic" else {"x-queue-type": chosen}


def amqp_ssl(overrides: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """TLS options for the broker connection (kombu's `ssl`, nameko's `AMQP_SSL`): with
    `AMQP_SSL_CA_CERTS` the broker's certificate is checked against that CA (and a client
    certificate is shown when `AMQP_SSL_CERTFILE`/`_KEYFILE` are set). An `amqps://` URI
    without it trusts no CA at all (py-amqp loads none): for a publicly signed broker, give
    the system's bundle (e.g. /etc/ssl/certs/ca-certificates.crt)."""
    ca_certs = get("AMQP_SSL_CA_CERTS", overrides)
    if not ca_certs:
        return None
    import ssl

    options: dict[str, Any] = {"ca_certs": ca_certs, "cert_reqs": ssl.CERT_REQUIRED}
    if get("AMQP_SSL_CERTFILE", overrides):
        options["certfile"] = get("AMQP_SSL_CERTFILE", overrides)
        options["keyfile"] = get("AMQP_SSL_KEYFILE", overrides)
    return options


def web_server_address() -> str:
    return get("WEB_SERVER_ADDRESS") or ""


def database_url(service: str, overrides: Mapping[str, Any] | None = None) -> str:
    """`<SERVICE>_DATABASE_URL`, defaulting to a SQLite file under var/."""
    configured = get(f"{service.upper()}_DATABASE_URL", overrides)
    if configured:
        return configured
    return f"sqlite:///{var_dir() / f'{service}.db'}"


def rpc_timeout(overrides: Mapping[str, Any] | None = None) -> float:
    return get_float("RPC_TIMEOUT", overrides)


def rpc_reply_confirms(overrides: Mapping[str, Any] | None = None) -> bool:
    return get_flag("RPC_REPLY_CONFIRMS", overrides)


def max_workers(overrides: Mapping[str, Any] | None = None) -> int:
    return get_int("MAX_WORKERS", overrides)


def _secret_from_file(name: str) -> str:
    """A generated secret kept under var/ so restarts of a laptop setup agree on it."""
    path = var_dir() / name
    if not path.exists():
        # Written aside and linked into place: of processes starting together, one wins and
        # every one reads the winner's secret, never a half-written file.
        draft = path.with_name(f".{name}.{os.getpid()}")
        draft.write_text(secrets.token_urlsafe(32))
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def jwt_secret(overrides: Mapping[str, Any] | None = None) -> str:
    return get("JWT_SECRET", overrides) or _secret_from_file("jwt-secret")


def secret(name: str, overrides: Mapping[str, Any] | None = None) -> str:
    """A secret setting; without one in the environment, generated once under var/ (so the
    processes of one laptop setup, a service and its local stand-in, agree on it)."""
    return get(name, overrides) or _secret_from_file(name.lower().replace("_", "-"))


def base_url(address: str) -> str:
    """An outside system's base URL from its setting: a URL as given, "host:port" as http."""
    return address if address.startswith(("http://", "https://")) else f"http://{address}"


def payment_notify_url(overrides: Mapping[str, Any] | None = None) -> str:
    """Where the payment provider sends its notifications: the gateway's notify route."""
    return get("PAYMENT_NOTIFY_URL", overrides) or (
        f"{base_url(get('WEB_SERVER_ADDRESS', overrides) or '')}/api/v1/payments/notify"
    )


def admin_username() -> str:
    return get("ALUMNI_ADMIN_USERNAME") or ""


def admin_password() -> str | None:
    return get("ALUMNI_ADMIN_PASSWORD")


def outbox_relay_paused(overrides: Mapping[str, Any] | None = None) -> bool:
    """Hold outbox rows unsent; only for operators draining a broker and for crash tests."""
    return get_flag("OUTBOX_RELAY_PAUSED", overrides)


def nameko_config() -> dict[str, Any]:
    """The configuration nameko runs every service with (services.common.serve)."""
    settings: dict[str, Any] = {
        "AMQP_URI": amqp_uri(),
        "WEB_SERVER_ADDRESS": web_server_address(),
        "max_workers": max_workers(),
        "parent_calls_tracked": 10,
        # Ends the process when a dying container hangs, so that it is restarted.
        "SERVICE_CONTAINER_CLS": "services.common.container.ServiceContainer",
        "LOGGING": {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
            "filters": {
                "expected": {"()": "services.common.container.ExpectedErrorWithoutTraceback"}
            },
            "handlers": {
                "console": {
                    "class": "logging.StreamHandler",
                    "formatter": "plain",
                    "filters": ["expected"],
                }
            },
            "root": {"level": get("LOG_LEVEL"), "handlers": ["console"]},
        },
    }
    if amqp_ssl() is not None:
        settings["AMQP_SSL"] = amqp_ssl()
    return settings
