"""Interrupted runs never wedge the platform: playbooks killed (SIGKILL, the controller and its Helm child together)
at chosen points, and an API server restarted mid-run; the re-run repairs, a second re-run changes nothing, and the
cluster holds exactly what an uninterrupted run leaves.

Kill points: during a Helm install (a release pending-install), during a Helm upgrade of a changed value
(pending-upgrade), during the CRD apply (some CRDs created), during namespace deletion of a teardown and of a purge;
and the simulated control plane stopped and started while a converge runs.
"""

import base64
import gzip
import json
import os
import signal
import subprocess
import time

import pytest
from kubernetes import client, dynamic
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

from conftest import PURGE, upstream_crd_names
from paths import CACHE
from processes import process_tree

# A part of the platform with upstream and own charts, CRDs, generated credentials and data volumes.
SETTINGS = {"platform_components": {"cert_manager": True, "mlflow": True, "nfs": True, "spark": True}}
RECOVER = {**SETTINGS, "platform_helm_recover": True}
NAMESPACES = {"cert-manager", "mlflow", "nfs", "spark"}
KINDS = [("v1", "Namespace"), ("v1", "Secret"), ("v1", "ConfigMap"), ("v1", "Service"), ("v1", "ServiceAccount"),
         ("v1", "PersistentVolumeClaim"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
         ("networking.k8s.io/v1", "NetworkPolicy"), ("storage.k8s.io/v1", "StorageClass"),
         ("storage.k8s.io/v1", "CSIDriver"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
         ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
         ("apiextensions.k8s.io/v1", "CustomResourceDefinition"), ("cert-manager.io/v1", "Certificate")]
ALL_CRDS = sum((len(upstream_crd_names(c)) for c in ("cert-manager", "trust-manager", "prometheus-operator", "seldon-core-v2",
                                                     "strimzi", "volcano")), 0)


def releases(core):
    """{(namespace, name): (status, chart)} of the newest revision of every Helm release."""
    newest = {}
    for secret in core.list_secret_for_all_namespaces(label_selector="owner=helm").items:
        labels = secret.metadata.labels
        key = (secret.metadata.namespace, labels["name"])
        if key not in newest or int(labels["version"]) > int(newest[key].metadata.labels["version"]):
            newest[key] = secret
    out = {}
    for key, secret in newest.items():
        record = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(secret.data["release"]))))
        out[key] = (record["info"]["status"], record["chart"]["metadata"]["version"])
    return out


def snapshot(kube):
    """What the cluster holds: objects of the platform's kinds by name (Helm's records, service account tokens and
    the API server's own objects left out), the releases' states, the claims' and the claimed volumes' phases."""
    api, core = dynamic.DynamicClient(kube), client.CoreV1Api(kube)
    objects = set()
    for version, kind in KINDS:
        try:
            found = api.resources.get(api_version=version, kind=kind).get().items
        except (NotFoundError, ResourceNotFoundError):  # a custom kind whose CRD a purge deleted
            continue
        for obj in found:
            name, namespace = obj.metadata.name, obj.metadata.namespace
            labels = obj.metadata.labels or {}
            if labels.get("owner") == "helm" or name.startswith(("system:", "kube-root-ca", "kubeadm:")) or (
                    namespace in ("kube-system", "kube-public", "kube-node-lease", "default")):
                continue
            if kind == "Namespace" and name in ("kube-system", "kube-public", "kube-node-lease", "default"):
                continue
            objects.add((kind, namespace, name))
    claims = {(c.metadata.namespace, c.metadata.name): c.status.phase
              for c in core.list_persistent_volume_claim_for_all_namespaces().items}
    # Volumes by the claim they record (claimRef outlives the claim: a leaked volume of a purged claim shows here).
    volumes = {(v.spec.claim_ref.namespace, v.spec.claim_ref.name): v.status.phase
               for v in core.list_persistent_volume().items if v.spec.claim_ref}
    return {"objects": objects, "releases": releases(core), "claims": claims, "volumes": volumes}


def kill_tree(proc):
    """SIGKILL the playbook and every process it started, all at once (as a power loss or a cancelled job would)."""
    for pid in process_tree(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def killed_when(run, kube, playbook, settings, condition, seconds=600):
    """Runs the playbook and SIGKILLs it (with every child) as soon as condition(kube) holds; True when it was killed
    that way (False when the run ended first)."""
    proc = run.start(playbook, settings)
    deadline = time.monotonic() + seconds
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if condition(kube):
                kill_tree(proc)
                return True
            time.sleep(0.05)
        return False
    finally:
        if proc.poll() is None:
            kill_tree(proc)


def pending(status):
    """Some release is in that state (Helm labels its revision records by status)."""
    def check(kube):
        return bool(client.CoreV1Api(kube).list_secret_for_all_namespaces(
            label_selector=f"owner=helm,status={status}", limit=1).items)
    return check


def crds_partly_applied(kube):
    names = {c.metadata.name for c in client.ApiextensionsV1Api(kube).list_custom_resource_definition().items}
    return 0 < len([n for n in names if n.endswith((".cert-manager.io", ".volcano.sh", ".strimzi.io",
                                                    ".monitoring.coreos.com", "mlops.seldon.io"))]) < ALL_CRDS


def a_namespace_terminating(kube):
    return any(n.status.phase == "Terminating" and n.metadata.name in NAMESPACES
               for n in client.CoreV1Api(kube).list_namespace().items)


def converged(run, settings=SETTINGS, playbook="playbooks/deploy.yml"):
    """A re-run that repairs, then a second one that changes nothing."""
    again = run(playbook, settings)
    assert again.rc == 0, again.failure_messages
    twice = run(playbook, SETTINGS if playbook.endswith("deploy.yml") else settings)
    assert twice.rc == 0 and twice.changed == 0, twice.changed_tasks()
    return again


@pytest.fixture(scope="module")
def reference(run, kube):
    """What uninterrupted runs leave: after a deploy, and after a teardown of it (data kept); then purged."""
    assert run("playbooks/deploy.yml", SETTINGS).rc == 0
    deployed = snapshot(kube)
    assert run("playbooks/teardown.yml", SETTINGS).rc == 0
    torn_down = snapshot(kube)
    purged = run("playbooks/teardown.yml", {**SETTINGS, **PURGE})
    assert purged.rc == 0, purged.failure_messages
    yield {"deployed": deployed, "torn_down": torn_down, "empty": snapshot(kube)}
    run("playbooks/teardown.yml", {**RECOVER, **PURGE})


def test_killed_during_crd_apply_and_during_a_helm_install(run, kube, reference):
    assert killed_when(run, kube, "playbooks/deploy.yml", SETTINGS, crds_partly_applied), "killed while CRDs are applied"
    assert killed_when(run, kube, "playbooks/deploy.yml", SETTINGS, pending("pending-install")), (
        "killed while Helm installs a release")
    stuck = [k for k, (s, _) in releases(client.CoreV1Api(kube)).items() if s == "pending-install"]
    assert stuck, "the kill left a release pending-install"
    refused = run("playbooks/deploy.yml", SETTINGS)
    assert refused.rc != 0 and any("another operation may still run" in m and "platform_helm_recover" in m
                                   for m in refused.failure_messages), refused.failure_messages
    repaired = converged(run, RECOVER)
    assert any("pending-install" in r["item"]["reason"] for r in repaired.results(
        "Repair the releases an interrupted run left pending")["localhost"]["results"])
    assert snapshot(kube) == reference["deployed"]


def test_killed_during_a_helm_upgrade_of_a_changed_value(run, kube, reference):
    assert killed_when(run, kube, "playbooks/deploy.yml", {**SETTINGS, "spark_workers": 2}, pending("pending-upgrade"))
    converged(run, RECOVER)
    assert snapshot(kube) == reference["deployed"]
    assert client.AppsV1Api(kube).read_namespaced_deployment("spark-worker", "spark").spec.replicas == 1


def test_killed_during_namespace_deletion_of_a_teardown_and_of_a_purge(run, kube, reference):
    assert run("playbooks/deploy.yml", SETTINGS).rc == 0, "deployed (a no-op after the tests above)"
    assert killed_when(run, kube, "playbooks/teardown.yml", SETTINGS, a_namespace_terminating)
    converged(run, RECOVER, "playbooks/teardown.yml")
    assert snapshot(kube) == reference["torn_down"]
    assert killed_when(run, kube, "playbooks/teardown.yml", {**SETTINGS, **PURGE}, a_namespace_terminating)
    converged(run, {**RECOVER, **PURGE}, "playbooks/teardown.yml")
    assert snapshot(kube) == reference["empty"]


def control_plane(action, sim_cluster):
    """kwokctl stop|start cluster of the test session's simulated cluster."""
    name = sim_cluster[0].base_vars["sim_cluster_name"]
    env = {**os.environ, "KWOK_WORKDIR": str(CACHE / "sim/kwok"), "PATH": f"{CACHE / 'sim/bin'}:{os.environ['PATH']}"}
    subprocess.run([CACHE / "sim/bin/kwokctl", action, "cluster", f"--name={name}"], env=env, check=True,
                   capture_output=True, timeout=300)


def test_api_server_restarted_mid_run(run, kube, sim_cluster, reference):
    proc = run.start("playbooks/deploy.yml", SETTINGS)
    try:
        deadline = time.monotonic() + 300
        while not releases(client.CoreV1Api(kube)) and time.monotonic() < deadline:
            time.sleep(0.2)
        control_plane("stop", sim_cluster)
        time.sleep(3)
        control_plane("start", sim_cluster)
        try:  # the run fails at its next call, or waits in Helm until it is given up on (as a user would)
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
    finally:
        if proc.poll() is None:
            kill_tree(proc)
    restarted = run("playbooks/cluster.yml")
    assert restarted.rc == 0, restarted.failure_messages
    converged(run, RECOVER)
    assert snapshot(kube) == reference["deployed"]
