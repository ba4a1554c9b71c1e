"""The cluster's manifests (deploy/k8s): valid against the Kubernetes schemas, built by
kustomize into each overlay, and complete for every service of the catalogue."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from services import k8sfiles
from services.common import catalogue
from services.common.topology import event_queues

KUBERNETES_VERSION = "1.32"
OVERLAYS = ("development", "production")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def base_documents() -> list[dict[str, Any]]:
    listed = yaml.safe_load((k8sfiles.BASE / "kustomization.yaml").read_text())["resources"]
    return [doc for name in listed for doc in documents(k8sfiles.BASE / name)]


def built(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its kustomize) is not installed here: overlays not built")
    result = subprocess.run(
        [kubectl, "kustomize", str(k8sfiles.OVERLAYS / overlay)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_every_base_manifest_is_valid_against_the_kubernetes_schemas():
    docs = base_documents()
    assert len(docs) > 20
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_builds_into_valid_manifests(overlay):
    docs = built(overlay)
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "StatefulSet", "Job", "HorizontalPodAutoscaler"} <= kinds
    # Development brings its Secret of fixed values; production's is made by the operator.
    assert ("Secret" in kinds) == (overlay == "development")


def test_the_validator_refuses_a_broken_manifest():
    deployment = copy.deepcopy(by_kind(base_documents(), "Deployment")["registry"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("entry", catalogue.SERVICES, ids=lambda entry: entry.name)
def test_every_service_has_its_deployment_service_probes_and_autoscaler(entry):
    docs = base_documents()
    deployment = by_kind(docs, "Deployment")[entry.name]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == [
        *("python", "-m", "services.launch", entry.name),
        *("--migrations", "wait"),
    ]
    assert "readinessProbe" in container and "livenessProbe" in container
    assert set(container["resources"]) == {"requests", "limits"}
    secrets = {e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert {"JWT_SECRET", "CALLER_KEY", f"BROKER_PASSWORD_{entry.name.upper()}"} <= secrets
    assert not [e for e in container["env"] if e["name"] in secrets and "value" in e]
    if entry.database:
        assert entry.database_url_variable in secrets
    service = by_kind(docs, "Service")[entry.name]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    autoscaler = by_kind(docs, "HorizontalPodAutoscaler")[entry.name]
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == entry.name


def test_the_migrations_job_migrates_every_database_before_the_services_start():
    docs = base_documents()
    job = by_kind(docs, "Job")["migrations"]
    commands = [c["command"] for c in job["spec"]["template"]["spec"]["containers"]]
    assert commands == [
        ["python", "-m", "services.common.migrate", entry.name]
        for entry in catalogue.with_database()
    ]
    for deployment in by_kind(docs, "Deployment").values():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["command"][-2:] == ["--migrations", "wait"]


def test_the_broker_is_a_three_node_cluster_with_a_quorum_queue_for_every_consumer():
    rabbitmq = by_kind(base_documents(), "StatefulSet")["rabbitmq"]
    assert rabbitmq["spec"]["replicas"] == 3
    definitions = json.loads((k8sfiles.BASE / "rabbitmq-definitions.json").read_text())
    declared = {q["name"]: q["arguments"] for q in definitions["queues"]}
    expected = [
        queue.name
        for entry in catalogue.SERVICES
        for queue in event_queues(entry.service_class(), "quorum")
    ]
    assert sorted(declared) == sorted(expected)
    assert any(name.endswith(".dead") for name in declared)
    assert all(arguments["x-queue-type"] == "quorum" for arguments in declared.values())


def test_the_services_declare_their_queues_as_the_clusters_definitions_do():
    """Quorum on the cluster by the ConfigMap; a declaration that differs from the
    definitions' would be refused by the broker."""
    settings = by_kind(base_documents(), "ConfigMap")[k8sfiles.SETTINGS]["data"]
    assert settings["EVENT_QUEUE_TYPE"] == "quorum"


def test_the_secret_example_lists_every_key_the_manifests_read():
    read = set()
    for doc in base_documents():
        text = json.dumps(doc)
        read |= {
            ref["key"]
            for ref in _secret_refs(doc)
            if ref["name"] == k8sfiles.SECRET and ref["key"] in text
        }
    example = (k8sfiles.OVERLAYS / "production" / "secrets.env.example").read_text()
    listed = {
        line.lstrip("# ").split("=")[0]
        for line in example.splitlines()
        if "=" in line and not line.startswith("#   ")
    }
    assert read <= listed


def _secret_refs(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node["secretKeyRef"]] if "secretKeyRef" in node else []
        return found + [ref for value in node.values() for ref in _secret_refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _secret_refs(value)]
    return []
