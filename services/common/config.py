"""Configuration from environment variables, with defaults that work on a laptop.

Every setting has one reader here so that services, scripts and tests agree on
names and defaults.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"
DEFAULT_WEB_SERVER_ADDRESS = "127.0.0.1:8000"
DEFAULT_RPC_TIMEOUT_SECONDS = 10.0
ACCESS_TOKEN_TTL_SECONDS = 15 * 60
REFRESH_TOKEN_TTL_SECONDS = 7 * 24 * 3600


def var_dir() -> Path:
    """Directory for local state (SQLite files, generated secrets)."""
    path = Path(os.environ.get("ALUMNI_VAR_DIR", "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def amqp_uri() -> str:
    return os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)


def web_server_address() -> str:
    return os.environ.get("WEB_SERVER_ADDRESS", DEFAULT_WEB_SERVER_ADDRESS)


def database_url(service: str) -> str:
    """`<SERVICE>_DATABASE_URL`, defaulting to a SQLite file under var/."""
    configured = os.environ.get(f"{service.upper()}_DATABASE_URL")
    if configured:
        return configured
    return f"sqlite:///{var_dir() / f'{service}.db'}"


def rpc_timeout() -> float:
    return float(os.environ.get("RPC_TIMEOUT", DEFAULT_RPC_TIMEOUT_SECONDS))


def _secret_from_file(name: str) -> str:
    """A generated secret kept under var/ so restarts of a laptop setup agree on it."""
    path = var_dir() / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def jwt_secret() -> str:
    return os.environ.get("JWT_SECRET") or _secret_from_file("jwt-secret")


def admin_username() -> str:
    return os.environ.get("ALUMNI_ADMIN_USERNAME", "admin")


def admin_password() -> str | None:
    return os.environ.get("ALUMNI_ADMIN_PASSWORD") or None


def nameko_config_path() -> Path:
    return Path(__file__).with_name("nameko.yaml")


def outbox_relay_paused() -> bool:
    """Hold outbox rows unsent; only for operators draining a broker and for crash tests."""
    return os.environ.get("OUTBOX_RELAY_PAUSED", "").lower() in {"1", "true", "yes"}
