"""Teardown of the whole platform, last: data kept unless purge, and a purge that leaves nothing of any release.

Every object each release created is listed from its Helm manifest and hooks before the teardown, then looked up
after it, cluster-scoped ones (ClusterRoles and bindings, webhook configurations, StorageClasses, CSIDrivers,
PriorityClasses) included.
"""

import json
import subprocess
import time

import pytest
import yaml
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

from conftest import PURGE
from paths import HELM

KEEP = "helm.sh/resource-policy"
DATA_NAMESPACES = {"mlflow", "observability", "nfs", "spark"}  # namespaces whose claims hold user data


def helm(kubeconfig, *args):
    return subprocess.run([HELM, *args, "--kubeconfig", kubeconfig], check=True, capture_output=True, text=True).stdout


def release_objects(kubeconfig, api):
    """{(apiVersion, kind, namespace or None, name): kept by resource policy} of every release's manifest and hooks."""
    found = {}
    for release in json.loads(helm(kubeconfig, "list", "-A", "-o", "json")):
        for part in ("manifest", "hooks"):
            text = helm(kubeconfig, "get", part, release["name"], "-n", release["namespace"])
            for obj in (o for o in yaml.safe_load_all(text) if o):
                resource = api.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
                namespace = obj["metadata"].get("namespace", release["namespace"]) if resource.namespaced else None
                kept = (obj["metadata"].get("annotations") or {}).get(KEEP) == "keep"
                found[(obj["apiVersion"], obj["kind"], namespace, obj["metadata"]["name"])] = kept
    return found


def still_there(api, objects):
    """The objects that exist (or are still being deleted)."""
    left = []
    for api_version, kind, namespace, name in objects:
        try:
            api.resources.get(api_version=api_version, kind=kind).get(name=name, namespace=namespace)
            left.append((kind, namespace, name))
        except (ApiException, NotFoundError, ResourceNotFoundError):
            pass
    return left


def wait_gone(api, objects, seconds=60):
    left = still_there(api, objects)
    for _ in range(seconds):
        if not left:
            break
        time.sleep(1)
        left = still_there(api, objects)
    return left


@pytest.fixture(scope="module")
def before(platform, platform_kube):
    """What exists before the teardown: release objects, data claims and their volumes, credentials; plus data
    the platform did not create (a user's namespace and claim, another namespace's bound volume)."""
    core, api = client.CoreV1Api(platform_kube), dynamic.DynamicClient(platform_kube)
    core.create_namespace({"metadata": {"name": "user-data"}})
    core.create_namespaced_persistent_volume_claim("user-data", {
        "metadata": {"name": "precious"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    core.create_persistent_volume({
        "metadata": {"name": "someone-elses"},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Delete",
                 "hostPath": {"path": "/tmp/someone-elses"}, "claimRef": {"namespace": "default", "name": "other"}}})
    core.create_namespaced_persistent_volume_claim("default", {
        "metadata": {"name": "other"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                 "volumeName": "someone-elses", "storageClassName": ""}})
    claims = {(c.metadata.namespace, c.metadata.name): c.spec.volume_name
              for c in core.list_persistent_volume_claim_for_all_namespaces().items if c.metadata.namespace in DATA_NAMESPACES}
    admin = core.read_namespaced_secret("mlflow-admin", "mlflow").data
    yield {"objects": release_objects(platform.kubeconfig, api), "claims": claims, "admin": admin}
    core.delete_namespace("user-data")
    core.delete_namespaced_persistent_volume_claim("other", "default")
    core.delete_persistent_volume("someone-elses")


def test_teardown_removes_every_release_object_and_keeps_the_data(platform, platform_kube, before):
    core, api = client.CoreV1Api(platform_kube), dynamic.DynamicClient(platform_kube)
    assert len(before["objects"]) >= 300 and len(before["claims"]) >= 5, (len(before["objects"]), before["claims"])
    assert any(ns is None for _, _, ns, _ in before["objects"]), "cluster-scoped objects are listed too"
    down = platform.run("playbooks/teardown.yml")
    assert down.rc == 0, down.failure_messages
    assert not json.loads(helm(platform.kubeconfig, "list", "-A", "-o", "json")), "no release is left"
    gone_expected = [o for o, kept in before["objects"].items() if not kept and o[1] != "Namespace"]
    assert not wait_gone(api, gone_expected)
    for (namespace, name), volume in before["claims"].items():
        claim = core.read_namespaced_persistent_volume_claim(name, namespace)
        assert claim.status.phase == "Bound" and claim.spec.volume_name == volume, (namespace, name)
        assert core.read_persistent_volume(volume).spec.persistent_volume_reclaim_policy == "Retain"
    assert core.read_namespaced_secret("mlflow-admin", "mlflow").data == before["admin"], "the key to the kept data stays"
    assert "user-data" in {n.metadata.name for n in core.list_namespace().items}
    again = platform.run("playbooks/teardown.yml")
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()


def test_redeploy_finds_the_same_data(platform, platform_kube, before):
    core = client.CoreV1Api(platform_kube)
    back = platform.run("playbooks/deploy.yml", tags="mlflow,nfs,spark")
    assert back.rc == 0, back.failure_messages
    for (namespace, name), volume in before["claims"].items():
        if namespace != "observability":
            assert core.read_namespaced_persistent_volume_claim(name, namespace).spec.volume_name == volume, (namespace, name)
    assert core.read_namespaced_secret("mlflow-admin", "mlflow").data == before["admin"]
    assert core.read_persistent_volume("someone-elses").spec.persistent_volume_reclaim_policy == "Delete", (
        "only the platform's volumes are switched to Retain")


def test_purge_leaves_nothing_of_any_release_and_only_what_others_own(platform, platform_kube, before):
    core, api = client.CoreV1Api(platform_kube), dynamic.DynamicClient(platform_kube)
    everything = set(before["objects"]) | set(release_objects(platform.kubeconfig, api))
    purged = platform.run("playbooks/teardown.yml", PURGE)
    assert purged.rc == 0, purged.failure_messages
    assert not wait_gone(api, everything, 120)
    namespaces = {n.metadata.name for n in core.list_namespace().items}
    assert not namespaces & {"cert-manager", "observability", "observability-node", "mlflow", "seldon-mesh", "nfs",
                             "spark", "volcano-system", "training", "portal"}
    volumes = {v.metadata.name for v in core.list_persistent_volume().items}
    assert not volumes & set(before["claims"].values()), "the purged claims' volumes are deleted"
    assert core.read_persistent_volume("someone-elses").status.phase == "Bound"
    assert core.read_namespaced_persistent_volume_claim("precious", "user-data").metadata.deletion_timestamp is None
    crds = {c.metadata.name for c in client.ApiextensionsV1Api(platform_kube).list_custom_resource_definition().items}
    assert not {c for c in crds if c.endswith((".cert-manager.io", ".monitoring.coreos.com", ".strimzi.io",
                                              "mlops.seldon.io", ".volcano.sh"))}
