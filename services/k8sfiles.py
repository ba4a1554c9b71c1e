"""The Kubernetes manifests of the platform (deploy/k8s/base), generated from the catalogue
by `make deploy-files` (services/deployfiles.py), like the compose file.

Per service of the catalogue: a Deployment (readiness and liveness probes, resources,
secrets from the `alumni-secrets` Secret), a Service and a HorizontalPodAutoscaler. Beside
them: the migrations Job, a 3-node RabbitMQ StatefulSet that loads the platform's
definitions with quorum queues, and PostgreSQL with a database per service. The overlays
(deploy/k8s/overlays/development, production) are written by hand: they only patch.
docs/operations.md tells how to run, scale and back it up.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from services import broker_accounts
from services.common import catalogue, config
from services.common.catalogue import HTTP_PROBE, ServiceEntry

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = K8S / "overlays"
IMAGE = "alumni-platform"
SECRET = "alumni-secrets"
SETTINGS = "alumni-config"
GATEWAY_PORT = 8000
RABBITMQ_IMAGE = "rabbitmq:3.13-management"
POSTGRES_IMAGE = "postgres:15"
RABBITMQ_NODES = 3
HEADER = (
    "# GENERATED from services/common/catalogue.py by `make deploy-files`; edit the\n"
    "# generator (services/k8sfiles.py), not this file.\n"
)
LABEL = "app.kubernetes.io/name"
PART_OF = {"app.kubernetes.io/part-of": "alumni-platform"}

SHARED_SECRETS = ("JWT_SECRET", "CALLER_KEY", "PII_KEYS", "ALUMNI_ADMIN_PASSWORD")
"""What every application container gets from the Secret (as in compose)."""
SECRET_WORDS = re.compile(r"KEY|SECRET|PASSWORD|USERNAME")
COMPOSE_VALUE = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+)(?::(?P<kind>[?-])(?P<rest>.*))?\}$")

# Resources per pod: a nameko service idles at ~80 MiB and a worker pool of 10 uses one
# core at most (one Python process); the gateway renders JSON for every request.
RESOURCES = {
    "requests": {"cpu": "100m", "memory": "192Mi"},
    "limits": {"cpu": "1", "memory": "512Mi"},
}
# The registry's import parses and matches duplicates in two processes of its own beside
# the service (services/common/offload.py `ChildProcess`): they use a second core, and a
# 100,000-row import took ~400 MiB in the service and ~320 MiB in the matcher.
SERVICE_RESOURCES = {
    "registry": {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "2", "memory": "1536Mi"},
    },
}


def _metadata(name: str, component: str | None = None) -> dict[str, Any]:
    labels = {LABEL: component or name, **PART_OF}
    return {"name": name, "labels": labels}


def _selector(name: str) -> dict[str, Any]:
    return {"matchLabels": {LABEL: name}}


def _secret_ref(key: str, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": SECRET, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": key, "valueFrom": {"secretKeyRef": ref}}


def _password_variable(service: str) -> str:
    return f"BROKER_PASSWORD_{service.upper()}"


def deploy_settings() -> tuple[dict[str, str], list[tuple[str, bool]]]:
    """The catalogue's `deploy_environment` split: plain settings with their defaults (for
    the ConfigMap) and secrets with whether each is required (for the Secret)."""
    plain: dict[str, str] = {}
    secrets: list[tuple[str, bool]] = []
    for entry in catalogue.SERVICES:
        for name, value in entry.deploy_environment:
            match = COMPOSE_VALUE.match(value)
            required = match is not None and match["kind"] == "?"
            default = match["rest"] if match is not None and match["kind"] == "-" else ""
            if SECRET_WORDS.search(name):
                secrets.append((name, required))
            else:
                plain[name] = default
    return plain, secrets


def _environment(entry: ServiceEntry) -> list[dict[str, Any]]:
    env = [_secret_ref(name) for name in SHARED_SECRETS]
    env.append(_secret_ref(_password_variable(entry.name)))
    if entry.database:
        env.append(_secret_ref(entry.database_url_variable))
    _, secrets = deploy_settings()
    own = {name for name, _ in entry.deploy_environment}
    env += [_secret_ref(name, optional=not required) for name, required in secrets if name in own]
    if entry.readiness == HTTP_PROBE:
        env.append({"name": "WEB_SERVER_ADDRESS", "value": f"0.0.0.0:{GATEWAY_PORT}"})
    return env


def _probes(entry: ServiceEntry) -> dict[str, Any]:
    if entry.readiness == HTTP_PROBE:
        # /ready asks every service for its health: the gateway takes traffic only when it
        # can serve it; /health is the process alone, so a broker outage restarts nothing.
        return {
            "readinessProbe": {
                "httpGet": {"path": "/ready", "port": "http"},
                "periodSeconds": 10,
                "timeoutSeconds": 5,
                "failureThreshold": 3,
            },
            "livenessProbe": {
                "httpGet": {"path": "/health", "port": "http"},
                "initialDelaySeconds": 20,
                "periodSeconds": 20,
                "timeoutSeconds": 5,
                "failureThreshold": 3,
            },
        }
    # An RPC `health` call answered over RabbitMQ (services/healthcheck.py): the container
    # consumes its queue. Liveness is lenient: during a broker outage the service recovers
    # by itself (docs/operations.md), and restarting it would not bring the broker back.
    command = ["python", "-m", "services.healthcheck", entry.name]
    return {
        "readinessProbe": {
            "exec": {"command": command},
            "initialDelaySeconds": 10,
            "periodSeconds": 15,
            "timeoutSeconds": 10,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "exec": {"command": command},
            "initialDelaySeconds": 60,
            "periodSeconds": 30,
            "timeoutSeconds": 10,
            "failureThreshold": 10,
        },
    }


def deployment(entry: ServiceEntry) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": entry.name,
        "image": f"{IMAGE}:latest",
        "command": ["python", "-m", "services.launch", entry.name, "--migrations", "wait"],
        "envFrom": [{"configMapRef": {"name": SETTINGS}}],
        "env": _environment(entry),
        "resources": SERVICE_RESOURCES.get(entry.name, RESOURCES),
        **_probes(entry),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "var", "mountPath": "/app/var"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    if entry.readiness == HTTP_PROBE:
        container["ports"] = [{"name": "http", "containerPort": GATEWAY_PORT}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(entry.name),
        "spec": {
            "replicas": 1,
            "selector": _selector(entry.name),
            "template": {
                "metadata": {"labels": {LABEL: entry.name, **PART_OF}},
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    # Scratch only, the root filesystem being read-only: every key comes
                    # from the Secret and every upload is kept in the database.
                    "volumes": [
                        {"name": "var", "emptyDir": {}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    }


def service(entry: ServiceEntry) -> dict[str, Any]:
    if entry.readiness == HTTP_PROBE:
        spec: dict[str, Any] = {
            "selector": {LABEL: entry.name},
            "ports": [{"name": "http", "port": GATEWAY_PORT, "targetPort": "http"}],
        }
    else:
        # Calls reach a nameko service through RabbitMQ, never through this Service: it is
        # headless, for its pods' DNS names (logs, debugging) and a place for monitors.
        spec = {"clusterIP": "None", "selector": {LABEL: entry.name}}
    return {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(entry.name), "spec": spec}


def autoscaler(entry: ServiceEntry) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(entry.name),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": entry.name},
            "minReplicas": 1,
            "maxReplicas": 4,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def migrations_job() -> dict[str, Any]:
    containers = [
        {
            "name": f"migrate-{entry.name}",
            "image": f"{IMAGE}:latest",
            "command": ["python", "-m", "services.common.migrate", entry.name],
            "envFrom": [{"configMapRef": {"name": SETTINGS}}],
            "env": [_secret_ref(entry.database_url_variable), _secret_ref("PII_KEYS")],
            "resources": RESOURCES,
        }
        for entry in catalogue.with_database()
    ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata("migrations"),
        "spec": {
            "backoffLimit": 6,
            # Gone a while after it succeeds, so that the next `kubectl apply -k` of a new
            # release creates it again (a Job's pod template cannot be changed).
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {"labels": {LABEL: "migrations", **PART_OF}},
                "spec": {"restartPolicy": "OnFailure", "containers": containers},
            },
        },
    }


def settings_map() -> dict[str, Any]:
    plain, _ = deploy_settings()
    data = {
        # The services' own accounts connect with BROKER_PASSWORD_<SERVICE>
        # (services/common/config.py `service_amqp_uri`).
        "AMQP_URI": f"amqp://rabbitmq:5672/{config.DEFAULTS['BROKER_VHOST']}",
        "EVENT_QUEUE_TYPE": "quorum",
        "LOG_LEVEL": "INFO",
        "ALUMNI_ADMIN_USERNAME": "admin",
        "ALUMNI_VAR_DIR": "/app/var",
        **plain,
        "PAYMENT_NOTIFY_URL": f"http://gateway:{GATEWAY_PORT}/api/v1/payments/notify",
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(SETTINGS, "alumni-platform"),
        "data": data,
    }


RABBITMQ_CONF = """\
# The platform's RabbitMQ cluster (deploy/k8s). GENERATED by `make deploy-files`.
cluster_formation.peer_discovery_backend = rabbit_peer_discovery_k8s
cluster_formation.k8s.host = kubernetes.default.svc.cluster.local
cluster_formation.k8s.address_type = hostname
cluster_formation.k8s.service_name = rabbitmq-nodes
cluster_formation.node_cleanup.only_log_warning = true
cluster_partition_handling = pause_minority
# Definitions are loaded by the first node, before the others join: quorum queues then
# grow onto the nodes that join (RabbitMQ 3.13).
quorum_queue.continuous_membership_reconciliation.enabled = true
quorum_queue.continuous_membership_reconciliation.target_group_size = 3
load_definitions = /tmp/alumni-definitions.json
"""


def rabbitmq() -> list[dict[str, Any]]:
    name = "rabbitmq"
    rbac_rules = [{"apiGroups": [""], "resources": ["endpoints"], "verbs": ["get"]}]
    pod_env = [
        {"name": "MY_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {
            "name": "MY_POD_NAMESPACE",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
        },
        {"name": "RABBITMQ_USE_LONGNAME", "value": "true"},
        {
            "name": "RABBITMQ_NODENAME",
            "value": "rabbit@$(MY_POD_NAME).rabbitmq-nodes.$(MY_POD_NAMESPACE).svc.cluster.local",
        },
        _secret_ref("RABBITMQ_ERLANG_COOKIE"),
        *(_secret_ref(_password_variable(service)) for service in catalogue.names()),
    ]
    probe_command = ["rabbitmq-diagnostics", "-q", "check_port_connectivity"]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(name)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _metadata(name),
            "rules": rbac_rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _metadata(name),
            "subjects": [{"kind": "ServiceAccount", "name": name}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _metadata("rabbitmq-nodes", name),
            "spec": {
                "clusterIP": "None",
                "publishNotReadyAddresses": True,
                "selector": {LABEL: name},
                "ports": [
                    {"name": "epmd", "port": 4369},
                    {"name": "cluster", "port": 25672},
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _metadata(name),
            "spec": {
                "selector": {LABEL: name},
                "ports": [
                    {"name": "amqp", "port": 5672},
                    {"name": "management", "port": 15672},
                ],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _metadata(name),
            "spec": {"maxUnavailable": 1, "selector": _selector(name)},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": _metadata(name),
            "spec": {
                "serviceName": "rabbitmq-nodes",
                "replicas": RABBITMQ_NODES,
                "podManagementPolicy": "Parallel",
                "selector": _selector(name),
                "template": {
                    "metadata": {"labels": {LABEL: name, **PART_OF}},
                    "spec": {
                        "serviceAccountName": name,
                        "terminationGracePeriodSeconds": 120,
                        "containers": [
                            {
                                "name": name,
                                "image": RABBITMQ_IMAGE,
                                # Puts each service account's password into the
                                # definitions, then starts the node (as in compose).
                                "command": ["sh", "/etc/alumni/rabbitmq-entrypoint.sh"],
                                "env": pod_env,
                                "ports": [
                                    {"name": "amqp", "containerPort": 5672},
                                    {"name": "management", "containerPort": 15672},
                                    {"name": "cluster", "containerPort": 25672},
                                    {"name": "epmd", "containerPort": 4369},
                                ],
                                "readinessProbe": {
                                    "exec": {"command": probe_command},
                                    "initialDelaySeconds": 20,
                                    "periodSeconds": 30,
                                    "timeoutSeconds": 20,
                                },
                                "livenessProbe": {
                                    "exec": {"command": ["rabbitmq-diagnostics", "-q", "ping"]},
                                    "initialDelaySeconds": 60,
                                    "periodSeconds": 60,
                                    "timeoutSeconds": 20,
                                    "failureThreshold": 5,
                                },
                                "resources": {
                                    "requests": {"cpu": "250m", "memory": "512Mi"},
                                    "limits": {"cpu": "2", "memory": "2Gi"},
                                },
                                "volumeMounts": [
                                    {"name": "data", "mountPath": "/var/lib/rabbitmq"},
                                    {"name": "alumni", "mountPath": "/etc/alumni"},
                                    {
                                        "name": "conf",
                                        "mountPath": "/etc/rabbitmq/conf.d/20-alumni.conf",
                                        "subPath": "rabbitmq.conf",
                                    },
                                    {
                                        "name": "conf",
                                        "mountPath": "/etc/rabbitmq/enabled_plugins",
                                        "subPath": "enabled_plugins",
                                    },
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "alumni", "configMap": {"name": "rabbitmq-definitions"}},
                            {"name": "conf", "configMap": {"name": "rabbitmq-config"}},
                        ],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "10Gi"}},
                        },
                    }
                ],
            },
        },
    ]


def postgres() -> list[dict[str, Any]]:
    name = "postgres"
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _metadata(name),
            "spec": {"selector": {LABEL: name}, "ports": [{"name": "postgres", "port": 5432}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": _metadata(name),
            "spec": {
                "serviceName": name,
                "replicas": 1,
                "selector": _selector(name),
                "template": {
                    "metadata": {"labels": {LABEL: name, **PART_OF}},
                    "spec": {
                        "containers": [
                            {
                                "name": name,
                                "image": POSTGRES_IMAGE,
                                "env": [
                                    {"name": "POSTGRES_USER", "value": "alumni"},
                                    {"name": "POSTGRES_DB", "value": "alumni"},
                                    _secret_ref("POSTGRES_PASSWORD"),
                                    {"name": "PGDATA", "value": "/var/lib/postgresql/data/db"},
                                ],
                                "ports": [{"name": "postgres", "containerPort": 5432}],
                                "readinessProbe": {
                                    "exec": {
                                        "command": [
                                            "pg_isready",
                                            "-U",
                                            "alumni",
                                            "-h",
                                            "127.0.0.1",
                                        ]
                                    },
                                    "periodSeconds": 10,
                                },
                                "livenessProbe": {
                                    "exec": {
                                        "command": [
                                            "pg_isready",
                                            "-U",
                                            "alumni",
                                            "-h",
                                            "127.0.0.1",
                                        ]
                                    },
                                    "initialDelaySeconds": 30,
                                    "periodSeconds": 30,
                                },
                                "resources": {
                                    "requests": {"cpu": "250m", "memory": "512Mi"},
                                    "limits": {"cpu": "2", "memory": "2Gi"},
                                },
                                "volumeMounts": [
                                    {"name": "data", "mountPath": "/var/lib/postgresql/data"},
                                    {
                                        "name": "init",
                                        "mountPath": "/docker-entrypoint-initdb.d",
                                    },
                                ],
                            }
                        ],
                        "volumes": [{"name": "init", "configMap": {"name": "postgres-init"}}],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "20Gi"}},
                        },
                    }
                ],
            },
        },
    ]


def _documents(documents: list[dict[str, Any]]) -> str:
    body = "---\n".join(
        yaml.safe_dump(document, sort_keys=False, allow_unicode=True) for document in documents
    )
    return HEADER + body


def service_file(entry: ServiceEntry) -> str:
    return _documents([deployment(entry), service(entry), autoscaler(entry)])


def kustomization() -> str:
    resources = ["namespace.yaml", "config.yaml", "rabbitmq.yaml", "postgres.yaml"]
    resources += ["migrations.yaml", *(f"{name}.yaml" for name in catalogue.names())]
    document = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": "alumni",
        "resources": resources,
        "configMapGenerator": [
            {
                "name": "rabbitmq-definitions",
                "files": ["rabbitmq-definitions.json", "rabbitmq-entrypoint.sh"],
            },
            {"name": "rabbitmq-config", "files": ["rabbitmq.conf", "enabled_plugins"]},
            {"name": "postgres-init", "files": ["postgres-init.sql"]},
        ],
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False)


def secret_keys() -> list[tuple[str, bool]]:
    """Every key of the Secret, with whether a deployment must supply it."""
    keys = [(name, True) for name in SHARED_SECRETS]
    keys += [("POSTGRES_PASSWORD", True), ("RABBITMQ_ERLANG_COOKIE", True)]
    keys += [(entry.database_url_variable, True) for entry in catalogue.with_database()]
    keys += [(_password_variable(name), True) for name in catalogue.names()]
    return keys + deploy_settings()[1]


DEVELOPMENT_VALUE = "dev-only-not-secret-"


def _development_secret(key: str) -> str:
    if key.endswith("_DATABASE_URL"):
        database = key.removesuffix("_DATABASE_URL").lower()
        return f"postgresql+psycopg2://alumni:{DEVELOPMENT_VALUE}pg@postgres:5432/{database}"
    if key == "POSTGRES_PASSWORD":
        return f"{DEVELOPMENT_VALUE}pg"
    # Letters, digits, - and _ only: broker passwords are put into JSON by `sed`.
    return DEVELOPMENT_VALUE + key.lower().replace("_", "-") + "-" + "x" * 32


def development_overlay() -> str:
    """One node of everything, small requests, and a Secret of fixed development values
    (never for real data: they are in this repository)."""
    document = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": "alumni-dev",
        "resources": ["../../base", "mailsink.yaml"],
        "secretGenerator": [
            {
                "name": SECRET,
                "options": {"disableNameSuffixHash": True},
                "literals": [
                    f"{key}={_development_secret(key)}"
                    for key, required in secret_keys()
                    if required
                ],
            }
        ],
        "configMapGenerator": [
            {
                "name": SETTINGS,
                "behavior": "merge",
                "literals": [
                    "LOG_LEVEL=DEBUG",
                    f"NOTIFY_SMTP_ADDRESS=mailsink:{MAILSINK_SMTP_PORT}",
                    f"NOTIFY_PUBLIC_URL=http://localhost:{GATEWAY_PORT}",
                ],
            }
        ],
        "patches": [
            {
                "target": {"kind": "StatefulSet", "name": "rabbitmq"},
                "patch": _json_patch([("replace", "/spec/replicas", 1)]),
            },
            *(
                {
                    "target": {"kind": "HorizontalPodAutoscaler", "name": name},
                    "patch": _json_patch([("replace", "/spec/maxReplicas", 2)]),
                }
                for name in catalogue.names()
            ),
        ],
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False)


MAILSINK_SMTP_PORT, MAILSINK_WEB_PORT = 1025, 8025


def mailsink() -> str:
    """Development's mail relay: the stand-in that keeps every mail for reading
    (services/notify/standins/mailsink.py), from the platform's image."""
    name = "mailsink"
    container = {
        "name": name,
        "image": f"{IMAGE}:latest",
        "command": ["python", "-m", "services.notify.standins.mailsink"],
        "env": [
            {"name": "NOTIFY_SMTP_ADDRESS", "value": f"0.0.0.0:{MAILSINK_SMTP_PORT}"},
            {"name": "NOTIFY_MAILBOX_WEB_ADDRESS", "value": f"0.0.0.0:{MAILSINK_WEB_PORT}"},
            {"name": "ALUMNI_VAR_DIR", "value": "/app/var"},
        ],
        "ports": [
            {"name": "smtp", "containerPort": MAILSINK_SMTP_PORT},
            {"name": "web", "containerPort": MAILSINK_WEB_PORT},
        ],
        "readinessProbe": {"tcpSocket": {"port": "smtp"}, "periodSeconds": 10},
        "livenessProbe": {"tcpSocket": {"port": "smtp"}, "periodSeconds": 30},
        "resources": RESOURCES,
        "volumeMounts": [{"name": "var", "mountPath": "/app/var"}],
    }
    return _documents(
        [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": _metadata(name),
                "spec": {
                    "replicas": 1,
                    "selector": _selector(name),
                    "template": {
                        "metadata": {"labels": {LABEL: name, **PART_OF}},
                        "spec": {
                            "containers": [container],
                            "volumes": [{"name": "var", "emptyDir": {}}],
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": _metadata(name),
                "spec": {
                    "selector": {LABEL: name},
                    "ports": [
                        {"name": "smtp", "port": MAILSINK_SMTP_PORT, "targetPort": "smtp"},
                        {"name": "web", "port": MAILSINK_WEB_PORT, "targetPort": "web"},
                    ],
                },
            },
        ]
    )


def production_overlay() -> str:
    """Two of every service at least (one may go while the other serves), up to eight under
    load; the image from the school's registry; the Secret made by the operator."""
    document = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["../../base"],
        "images": [
            {
                "name": IMAGE,
                "newName": "registry.example.edu.cn/alumni/alumni-platform",
                "newTag": "1.0.0",
            }
        ],
        "configMapGenerator": [
            {
                "name": SETTINGS,
                "behavior": "merge",
                "literals": [
                    "NOTIFY_SMTP_ADDRESS=smtp.example.edu.cn:25",
                    "NOTIFY_SMTP_STARTTLS=1",
                    "NOTIFY_PUBLIC_URL=https://alumni.example.edu.cn",
                ],
            }
        ],
        "patches": [
            *(
                {
                    "target": {"kind": "Deployment", "name": name},
                    "patch": _json_patch([("replace", "/spec/replicas", 2)]),
                }
                for name in catalogue.names()
            ),
            *(
                {
                    "target": {"kind": "HorizontalPodAutoscaler", "name": name},
                    "patch": _json_patch(
                        [("replace", "/spec/minReplicas", 2), ("replace", "/spec/maxReplicas", 8)]
                    ),
                }
                for name in catalogue.names()
            ),
        ],
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False)


def production_secret_example() -> str:
    lines = [
        "# The keys of the `alumni-secrets` Secret (docs/operations.md). Fill in a copy kept",
        "# out of the repository, then:",
        "#   kubectl -n alumni create secret generic alumni-secrets --from-env-file=secrets.env",
        "# Broker passwords: letters, digits, - and _ only. Lines marked optional may go.",
    ]
    lines += [
        f"{key}=" if required else f"# {key}=   (optional)" for key, required in secret_keys()
    ]
    return "\n".join(lines) + "\n"


def _json_patch(operations: list[tuple[str, str, Any]]) -> str:
    return yaml.safe_dump(
        [{"op": op, "path": path, "value": value} for op, path, value in operations],
        sort_keys=False,
    )


def generated_files(entrypoint: str, postgres_init: str) -> dict[Path, str]:
    """Every file of deploy/k8s/base with its content; `entrypoint` and `postgres_init` are
    compose's broker entrypoint and database init script, which the cluster runs too."""
    files = {
        BASE / "kustomization.yaml": kustomization(),
        BASE / "namespace.yaml": _documents(
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": _metadata("alumni")}]
        ),
        BASE / "config.yaml": _documents([settings_map()]),
        BASE / "rabbitmq.yaml": _documents(rabbitmq()),
        BASE / "postgres.yaml": _documents(postgres()),
        BASE / "migrations.yaml": _documents([migrations_job()]),
        BASE / "rabbitmq-definitions.json": broker_accounts.definitions_file("quorum"),
        BASE / "rabbitmq-entrypoint.sh": entrypoint,
        BASE / "rabbitmq.conf": RABBITMQ_CONF,
        BASE / "enabled_plugins": "[rabbitmq_management,rabbitmq_peer_discovery_k8s].\n",
        BASE / "postgres-init.sql": postgres_init,
    }
    for entry in catalogue.SERVICES:
        files[BASE / f"{entry.name}.yaml"] = service_file(entry)
    files[OVERLAYS / "development" / "kustomization.yaml"] = development_overlay()
    files[OVERLAYS / "development" / "mailsink.yaml"] = mailsink()
    files[OVERLAYS / "production" / "kustomization.yaml"] = production_overlay()
    files[OVERLAYS / "production" / "secrets.env.example"] = production_secret_example()
    return files
