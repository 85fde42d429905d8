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
    assert len(pool) == 10
    again = run("playbooks/cluster.yml")
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
