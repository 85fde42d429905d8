"""The simulated cluster: a real control plane whose kwok nodes run Deployments and finish namespace deletion."""

import time

from kubernetes import client
from kubernetes.client.rest import ApiException


def wait_for(predicate, timeout=90, step=1.0):
    """Poll predicate until it returns a truthy value or timeout seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(step)
        value = predicate()
    return value


def test_nodes_are_ready(kube):
    nodes = client.CoreV1Api(kube).list_node(label_selector="type=kwok").items
    assert len(nodes) == 2
    for node in nodes:
        assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"


def test_deployment_becomes_available_and_namespace_deletion_completes(kube):
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    core.create_namespace({"metadata": {"name": "pytest-workload"}})
    apps.create_namespaced_deployment("pytest-workload", {
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]}},
        },
    })
    available = wait_for(lambda: apps.read_namespaced_deployment("web", "pytest-workload").status.available_replicas == 2)
    assert available, apps.read_namespaced_deployment("web", "pytest-workload").status

    pods = core.list_namespaced_pod("pytest-workload").items
    assert len(pods) == 2 and all(p.spec.node_name for p in pods), "the scheduler placed every pod on a node"

    core.delete_namespace("pytest-workload")

    def gone():
        try:
            core.read_namespace("pytest-workload")
        except ApiException as err:
            return err.status == 404
        return False

    assert wait_for(gone), "the namespace controller finished deleting the namespace"


def test_second_run_changes_nothing(run, kube):
    # Earlier tests' purges deleted pool volumes: the first run refills the pool, the second changes nothing.
    refill = run("playbooks/cluster.yml")
    assert refill.rc == 0, refill.failure_messages
    pool = client.CoreV1Api(kube).list_persistent_volume(label_selector="mlops.platform/sim-volume-pool").items
    classes = [v.spec.storage_class_name or "" for v in pool]
    assert (classes.count(""), classes.count("nfs")) == (10, 10), "a pool per storage class the platform uses"
    again = run("playbooks/cluster.yml")
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()


def test_admission_webhooks_are_never_called(kube):
    """The API server runs without webhook admission: a webhook that would refuse every ConfigMap (failurePolicy
    Fail, at a loopback port where nothing listens) is registered and never called, so nothing is sent to Service
    or pod addresses, which route off this machine."""
    core, admission = client.CoreV1Api(kube), client.AdmissionregistrationV1Api(kube)
    core.create_namespace({"metadata": {"name": "pytest-webhook"}})
    admission.create_validating_webhook_configuration({
        "metadata": {"name": "pytest-refuse-everything"},
        "webhooks": [{"name": "refuse.pytest.mlops.platform", "failurePolicy": "Fail", "sideEffects": "None",
                      "admissionReviewVersions": ["v1"], "clientConfig": {"url": "https://127.0.0.1:9/refuse"},
                      "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "pytest-webhook"}},
                      "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                 "resources": ["configmaps"]}]}]})
    try:
        created = core.create_namespaced_config_map("pytest-webhook", {"metadata": {"name": "admitted"}})
        assert created.metadata.uid, "created without calling the webhook"
    finally:
        admission.delete_validating_webhook_configuration("pytest-refuse-everything")
        core.delete_namespace("pytest-webhook")
