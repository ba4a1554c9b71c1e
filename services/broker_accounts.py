"""Who may do what on the broker: one account per service, and subscriber accounts for
other campus systems, all derived from the service catalogue (docs/security/broker.md).

    python -m services.broker_accounts provision            # what `make run` does first
    python -m services.broker_accounts subscriber <name>    # an account for a campus system

The one source is `definitions()`: a RabbitMQ definitions document (vhost, users,
permissions, topic permissions on the RPC exchange, the event exchanges and every
consumer's queues). `make deploy-files` writes it without passwords to
deploy/rabbitmq-definitions.json (a test keeps that file in step), which compose's broker
loads at boot with the passwords of its environment put in; `make run` and the test
fixtures import the same document through the management API with the passwords they
hold.

A service's account may:
- declare, bind and read its own queues: its RPC queue `rpc-<name>`, its RPC reply queues
  `rpc.reply-<name>-<uuid>` (and a standalone proxy's, for its healthcheck), its event
  handlers' queues `evt-<source>-<type>--<name>.<method>` with their retry and dead-letter
  queues;
- publish to its own event exchange, and on `nameko-rpc` only replies (a uuid routing key),
  calls to the services it calls (`<target>.<method>`) and its own `health`;
- read (bind to) the event exchanges of the services it consumes;
- publish to the default exchange only when it consumes events (parking a failed event on
  its retry or dead-letter queue); whatever it puts in another service's queue that way
  is refused there, since the message's `user_id` is not that queue's publisher
  (services/common/reliable_events.py).

A subscriber may declare, bind and read only queues named `sub.<name>.…`, and bind them to
the platform's event exchanges; it can neither publish to a platform exchange nor call RPC.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import inspect
import json
import os
import re
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from services.common import catalogue, config
from services.common.catalogue import RPC_PROBE, ServiceEntry

RPC_EXCHANGE = "nameko-rpc"
STANDALONE_PROXY = "standalone_rpc_proxy"
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
HASHING_ALGORITHM = "rabbit_password_hashing_sha256"
SUBSCRIBER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
SUBSCRIBER_ACCOUNT_PREFIX = "sub-"
MANAGEMENT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Grant:
    """One account's permissions on the platform's vhost (regular expressions, as RabbitMQ
    takes them); `rpc_write` / `rpc_read`: its topic permissions on `nameko-rpc` (routing
    keys it may publish with, binding keys it may bind with), None for no restriction
    beyond `write` / `read`."""

    user: str
    configure: str
    write: str
    read: str
    rpc_write: str | None = None
    rpc_read: str | None = None


def _any_of(*patterns: str) -> str:
    return "^(" + "|".join(patterns) + ")$" if patterns else "^$"


def _events_exchange(service: str) -> str:
    return re.escape(f"{service}.events")


def rpc_targets(entry: ServiceEntry) -> list[str]:
    """The services `entry` calls: the targets of its class's RPC proxies."""
    from nameko.rpc import RpcProxy

    proxies = inspect.getmembers(entry.service_class(), lambda v: isinstance(v, RpcProxy))
    return sorted({proxy.target_service for _, proxy in proxies})


def service_grant(entry: ServiceEntry, user: str) -> Grant:
    """What the service `entry` may do, as account `user` (see the module)."""
    name = re.escape(entry.name)
    answers = entry.readiness == RPC_PROBE
    calls = rpc_targets(entry)
    queues = [rf"evt-[^.]+--{name}\.[^.]+(\.retry\.[0-9]+|\.dead)?"] if entry.consumes else []
    rpc_keys = [UUID]
    rpc_bindings = [UUID]
    if calls:
        queues.append(rf"rpc\.reply-{name}-{UUID}")
    if answers or entry.readiness != RPC_PROBE:
        # A standalone proxy's replies: the healthcheck of a service that answers RPC, and
        # the operator commands, which use the gateway's account (config.operator_amqp_uri).
        queues.append(rf"rpc\.reply-{STANDALONE_PROXY}-{UUID}")
    if answers:
        queues.append(rf"rpc-{name}")
        rpc_keys.append(rf"{name}\.health")
        rpc_bindings.append(rf"{name}\.\*")
    rpc_keys += [rf"{re.escape(target)}\.[a-z_0-9]+" for target in calls]
    own_exchanges = [re.escape(RPC_EXCHANGE)] if answers or calls else []
    if entry.publishes_events:
        own_exchanges.append(_events_exchange(entry.name))
    sources = [_events_exchange(source) for source in entry.consumes]
    parking = [re.escape("amq.default")] if entry.consumes else []
    rpc = [re.escape(RPC_EXCHANGE)] if answers or calls else []
    return Grant(
        user=user,
        # Declaring a queue bound to an exchange declares that exchange too (kombu).
        configure=_any_of(*queues, *own_exchanges, *sources),
        write=_any_of(*queues, *own_exchanges, *parking),
        read=_any_of(*queues, *rpc, *sources),
        rpc_write=_any_of(*rpc_keys) if rpc else None,
        rpc_read=_any_of(*rpc_bindings) if rpc else None,
    )


def subscriber_queue_prefix(name: str) -> str:
    return f"sub.{name}."


def subscriber_grant(name: str, user: str, sources: list[str] | None = None) -> Grant:
    """Queues `sub.<name>.…` of its own, bound to the event exchanges of `sources` (every
    publisher's by default: a subscriber that needs one service's events gets only those,
    and so only the personal information in them); nothing else."""
    if not SUBSCRIBER_NAME.fullmatch(name):
        raise ValueError(f"a subscriber's name is 1-40 of a-z 0-9 _ -, not {name!r}")
    publishers = [entry.name for entry in catalogue.publishers()]
    unknown = sorted(set(sources or ()) - set(publishers))
    if unknown:
        raise ValueError(f"no service publishes events as {unknown}; publishers: {publishers}")
    own = re.escape(subscriber_queue_prefix(name)) + ".+"
    exchanges = [_events_exchange(source) for source in (sources or publishers)]
    return Grant(
        user=user, configure=_any_of(own), write=_any_of(own), read=_any_of(own, *exchanges)
    )


def service_grants(prefix: str | None = None) -> list[Grant]:
    prefix = config.get("BROKER_USER_PREFIX") if prefix is None else prefix
    return [service_grant(entry, f"{prefix}{entry.name}") for entry in catalogue.SERVICES]


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's SHA-256 password hash: base64(salt + sha256(salt + password))."""
    salt = salt if salt is not None else os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def _topology(vhost: str, queue_type: str | None) -> dict[str, list[dict[str, Any]]]:
    """The event exchanges and every consumer's queues, declared exactly as the services
    declare them, so that an event published before its consumer first starts waits in
    the queue (and no service needs the right to declare another's queues)."""
    from nameko.rpc import get_rpc_exchange
    from nameko.standalone.events import get_event_exchange

    from services.common.topology import event_queues

    exchanges = [get_rpc_exchange({})]
    exchanges += [get_event_exchange(entry.name, {}) for entry in catalogue.publishers()]
    queues = [
        q for entry in catalogue.SERVICES for q in event_queues(entry.service_class(), queue_type)
    ]
    return {
        "exchanges": [
            {
                "name": exchange.name,
                "vhost": vhost,
                "type": exchange.type,
                "durable": bool(exchange.durable),
                "auto_delete": bool(exchange.auto_delete),
                "internal": False,
                "arguments": {},
            }
            for exchange in exchanges
        ],
        "queues": [
            {
                "name": queue.name,
                "vhost": vhost,
                "durable": bool(queue.durable),
                "auto_delete": bool(queue.auto_delete),
                "arguments": dict(queue.queue_arguments or {}),
            }
            for queue in queues
        ],
        "bindings": [
            {
                "source": queue.exchange.name,
                "vhost": vhost,
                "destination": queue.name,
                "destination_type": "queue",
                "routing_key": queue.routing_key,
                "arguments": {},
            }
            for queue in queues
            if queue.exchange is not None and queue.exchange.name
        ],
    }


def definitions(
    vhost: str | None = None,
    prefix: str | None = None,
    passwords: dict[str, str] | None = None,
    grants: list[Grant] | None = None,
    queue_type: str | None = None,
) -> dict[str, Any]:
    """The RabbitMQ definitions of the platform: `passwords` by service name; a user
    without one gets an empty hash, which no password opens; the event queues of
    `queue_type` (default `EVENT_QUEUE_TYPE`)."""
    vhost = config.get("BROKER_VHOST") if vhost is None else vhost
    grants = service_grants(prefix) if grants is None else grants
    passwords = passwords or {}
    prefix = config.get("BROKER_USER_PREFIX") if prefix is None else prefix
    users = []
    for grant in grants:
        password = passwords.get(grant.user.removeprefix(prefix or ""))
        users.append(
            {
                "name": grant.user,
                "password_hash": password_hash(password) if password else "",
                "hashing_algorithm": HASHING_ALGORITHM,
                "tags": "",
            }
        )
    return {
        "vhosts": [{"name": vhost}],
        "users": users,
        "permissions": [
            {
                "user": g.user,
                "vhost": vhost,
                "configure": g.configure,
                "write": g.write,
                "read": g.read,
            }
            for g in grants
        ],
        "topic_permissions": [
            {
                "user": g.user,
                "vhost": vhost,
                "exchange": RPC_EXCHANGE,
                "write": g.rpc_write,
                "read": g.rpc_read,
            }
            for g in grants
            if g.rpc_write is not None
        ],
        **_topology(vhost, queue_type),
    }


def definitions_file(queue_type: str = "classic") -> str:
    """The platform's definitions for the default vhost and account names, without
    passwords (`make deploy-files`: deploy/rabbitmq-definitions.json for one node, classic
    queues; the cluster's in deploy/k8s, quorum queues). One item a line, so that the
    broker's container can put each account's password in with `sed` (deployfiles.py,
    `rabbitmq_entrypoint`)."""
    document = definitions(
        config.DEFAULTS["BROKER_VHOST"],
        config.DEFAULTS["BROKER_USER_PREFIX"],
        queue_type=queue_type,
    )
    sections = []
    for key, items in document.items():
        lines = ",\n".join(f"    {json.dumps(item, ensure_ascii=False)}" for item in items)
        sections.append(f'  "{key}": [\n{lines}\n  ]')
    return "{\n" + ",\n".join(sections) + "\n}\n"


def password_slot(user: str) -> str:
    """The text of `user`'s entry in the definitions file that a password replaces."""
    return f'"name": "{user}", "password_hash": ""'


# ---- the management API ----------------------------------------------------------------


class BrokerAdminError(RuntimeError):
    """The broker could not be administered: the message says why, in one line."""


@dataclass
class Management:
    """RabbitMQ's management HTTP API as an administrator (`BROKER_MANAGEMENT_URL`, the
    credentials of `AMQP_URI` by default)."""

    url: str
    username: str
    password: str

    @classmethod
    def from_settings(cls, admin_uri: str | None = None, url: str | None = None) -> Management:
        parts = urllib.parse.urlsplit(admin_uri or config.amqp_uri())
        url = (
            url
            or config.get("BROKER_MANAGEMENT_URL")
            or f"http://{parts.hostname or 'localhost'}:15672"
        )
        return cls(
            url.rstrip("/"),
            urllib.parse.unquote(parts.username or "guest"),
            urllib.parse.unquote(parts.password or "guest"),
        )

    def request(self, method: str, path: str, body: Any = None) -> Any:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        request = urllib.request.Request(
            f"{self.url}/api/{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=MANAGEMENT_TIMEOUT_SECONDS) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            if error.code == 404 and method == "DELETE":
                return None
            raise BrokerAdminError(
                f"{method} {self.url}/api/{path} answered {error.code} "
                f"({error.read()[:200].decode(errors='replace')}) for {self.username}"
            ) from None
        except OSError as error:
            raise BrokerAdminError(
                f"the broker's management API does not answer at {self.url} ({error})"
            ) from None
        return json.loads(text) if text else None

    def import_definitions(self, document: dict[str, Any]) -> None:
        """Adds or updates what `document` names; other vhosts and users are untouched."""
        self.request("POST", "definitions", document)

    def revoke(self, vhost: str, user: str) -> None:
        quoted = urllib.parse.quote(vhost, safe="")
        self.request("DELETE", f"permissions/{quoted}/{urllib.parse.quote(user, safe='')}")

    def delete_user(self, user: str) -> None:
        self.request("DELETE", f"users/{urllib.parse.quote(user, safe='')}")

    def permissions(self, vhost: str) -> list[dict[str, Any]]:
        return self.request("GET", f"vhosts/{urllib.parse.quote(vhost, safe='')}/permissions")


def service_passwords() -> dict[str, str]:
    """Each service's broker password: from the environment, else generated once into
    var/ (config.secret)."""
    return {name: config.broker_password(name) for name in catalogue.names()}


def provision(
    management: Management,
    vhost: str,
    prefix: str,
    passwords: dict[str, str],
    keep_admin: bool = False,
) -> None:
    """Create or update the platform's vhost, its service accounts and its topology; then,
    unless `keep_admin`, take away any permission the administering account has on that
    vhost (the broker's default account must not be a way in)."""
    management.import_definitions(definitions(vhost, prefix, passwords))
    if not keep_admin:
        management.revoke(vhost, management.username)


def add_subscriber(
    management: Management,
    vhost: str,
    name: str,
    prefix: str | None = None,
    sources: list[str] | None = None,
) -> tuple[str, str]:
    """Create (or give a new password and grant to) subscriber `name`; returns user and
    password."""
    prefix = config.get("BROKER_USER_PREFIX") or "" if prefix is None else prefix
    user = f"{prefix}{SUBSCRIBER_ACCOUNT_PREFIX}{name}"
    grant = subscriber_grant(name, user, sources)
    password = secrets.token_urlsafe(24)
    quoted_user = urllib.parse.quote(user, safe="")
    management.request("PUT", f"users/{quoted_user}", {"password": password, "tags": ""})
    management.request(
        "PUT",
        f"permissions/{urllib.parse.quote(vhost, safe='')}/{quoted_user}",
        {"configure": grant.configure, "write": grant.write, "read": grant.read},
    )
    return user, password


def subscriber_uri(user: str, password: str, vhost: str) -> str:
    parts = urllib.parse.urlsplit(config.platform_amqp_uri())
    netloc = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}@"
    netloc += parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, netloc, "/" + vhost, "", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.broker_accounts", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("provision", help="vhost, service accounts and queues (make run)")
    subscriber = commands.add_parser("subscriber", help="an account for a campus system")
    subscriber.add_argument("name", help="its name: a-z 0-9 _ -, its queues are sub.<name>.*")
    subscriber.add_argument(
        "--source",
        action="append",
        help="a service whose events it may read (repeat; default: every publisher)",
    )
    args = parser.parse_args(argv)
    vhost = urllib.parse.unquote(urllib.parse.urlsplit(config.platform_amqp_uri()).path[1:])
    prefix = config.get("BROKER_USER_PREFIX") or ""
    try:
        if args.command == "provision":
            provision(Management.from_settings(), vhost, prefix, service_passwords())
            print(f"broker: vhost {vhost} with one account per service ({prefix}<service>)")
        else:
            user, password = add_subscriber(
                Management.from_settings(), vhost, args.name, sources=args.source
            )
            print(f"user:     {user}\npassword: {password}")
            print(f"queues:   {subscriber_queue_prefix(args.name)}*  (yours to declare and bind)")
            print(f"uri:      {subscriber_uri(user, password, vhost)}")
    except (BrokerAdminError, ValueError) as error:
        print(f"broker accounts: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
