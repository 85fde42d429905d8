"""Volcano role on the real API server: queues, the submitter's RBAC, and a real TorchX submission as that account.

Volcano's own chart is off in CI (no registry); its CRDs (crds role) and our training chart are installed. The
launcher test runs the chart's entrypoint.sh with a real ServiceAccount token, then TorchX (pinned like the launcher
image) submits the chart's DDP example: the Volcano Job is created, described and cancelled with that token alone.
"""

import base64
import os
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from kubernetes import client

from conftest import PURGE, ROOT, assert_fails_in_preflight
from paths import CACHE, HELM
from test_platform_core import gone

NAMESPACE = "training"
SUBMITTER = f"system:serviceaccount:{NAMESPACE}:torchx-submitter"
QUEUES = [{"name": "training", "weight": 3, "capability": {"cpu": "16", "memory": "64Gi"}, "reclaimable": True},
          {"name": "experiments", "weight": 1, "reclaimable": False}]
SETTINGS = {"crds_components": ["volcano"], "platform_components": {"volcano": True}, "volcano_queues": QUEUES}
TORCHX = CACHE / "torchx-venv/bin"


@pytest.fixture(scope="module")
def volcano(run, kube):
    first = run("playbooks/deploy.yml", SETTINGS)
    assert first.rc == 0, first.failure_messages
    yield first
    down = run("playbooks/teardown.yml", {**SETTINGS, **PURGE})
    assert down.rc == 0, down.failure_messages
    assert gone(client.CoreV1Api(kube).read_namespace, NAMESPACE)


def test_queues_from_inventory_and_idempotence(volcano, run, kube, core):
    assert core.read_namespace(NAMESPACE).metadata.labels["pod-security.kubernetes.io/enforce"] == "baseline"
    queues = {q["metadata"]["name"]: q["spec"] for q in client.CustomObjectsApi(kube).list_cluster_custom_object(
        "scheduling.volcano.sh", "v1beta1", "queues")["items"]}
    assert queues["training"]["weight"] == 3 and queues["training"]["capability"] == {"cpu": "16", "memory": "64Gi"}
    assert queues["experiments"]["reclaimable"] is False
    again = run("playbooks/deploy.yml", SETTINGS)
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    assert run("playbooks/deploy.yml", SETTINGS, check=True).changed == 0


@pytest.mark.parametrize(("group", "resource", "verb", "namespace", "allowed"), [
    ("batch.volcano.sh", "jobs", "create", NAMESPACE, True),
    ("batch.volcano.sh", "jobs", "delete", NAMESPACE, True),
    ("", "pods/log", "get", NAMESPACE, True),
    ("scheduling.volcano.sh", "podgroups", "watch", NAMESPACE, True),
    ("scheduling.volcano.sh", "queues", "list", None, True),
    ("", "secrets", "get", NAMESPACE, False),
    ("", "configmaps", "create", NAMESPACE, False),
    ("", "pods/exec", "create", NAMESPACE, False),
    ("batch.volcano.sh", "jobs", "create", "default", False),
    ("scheduling.volcano.sh", "queues", "create", None, False),
    ("rbac.authorization.k8s.io", "rolebindings", "create", NAMESPACE, False),
])
def test_submitter_rights_are_least_privilege(volcano, kube, group, resource, verb, namespace, allowed):
    """Real SubjectAccessReviews: the API server's own authorizer answers for the submitter's ServiceAccount."""
    name, _, sub = resource.partition("/")
    review = client.AuthorizationV1Api(kube).create_subject_access_review({
        "spec": {"user": SUBMITTER, "groups": ["system:serviceaccounts", f"system:serviceaccounts:{NAMESPACE}"],
                 "resourceAttributes": {"group": group, "resource": name, "subresource": sub, "verb": verb,
                                        **({"namespace": namespace} if namespace else {})}}})
    assert review.status.allowed is allowed, (resource, verb, namespace, review.status.reason)


def launcher_files(target):
    """The chart's launcher ConfigMap, written out as it is mounted at /opt/training."""
    rendered = subprocess.run([HELM, "template", "training", ROOT / "charts/training", "--namespace", NAMESPACE],
                              check=True, capture_output=True, text=True).stdout
    config_map = next(o for o in yaml.safe_load_all(rendered) if o and o["metadata"]["name"] == "training-launcher")
    for name, text in config_map["data"].items():
        (target / name).write_text(text)


def service_account_dir(kube, kubeconfig, target):
    """What the kubelet mounts for the submitter: a fresh token, the cluster CA, the namespace."""
    token = client.CoreV1Api(kube).create_namespaced_service_account_token(
        "torchx-submitter", NAMESPACE, {"spec": {"expirationSeconds": 600}}).status.token
    cluster = yaml.safe_load(Path(kubeconfig).read_text())["clusters"][0]["cluster"]
    ca = (base64.b64decode(cluster["certificate-authority-data"]).decode() if "certificate-authority-data" in cluster
          else Path(cluster["certificate-authority"]).read_text())
    target.mkdir()
    (target / "token").write_text(token)
    (target / "ca.crt").write_text(ca)
    (target / "namespace").write_text(NAMESPACE)
    return urlparse(cluster["server"])


def test_launcher_submits_the_ddp_example_with_its_own_token(volcano, kube, sim_cluster, tmp_path):
    workdir = tmp_path / "opt-training"
    workdir.mkdir()
    launcher_files(workdir)
    server = service_account_dir(kube, sim_cluster[1], tmp_path / "serviceaccount")
    env = {"PATH": f"{TORCHX}:{os.environ['PATH']}", "HOME": str(tmp_path), "SERVICE_ACCOUNT_DIR": str(tmp_path / "serviceaccount"),
           "KUBERNETES_SERVICE_HOST": server.hostname, "KUBERNETES_SERVICE_PORT": str(server.port)}

    def launch(*args):
        result = subprocess.run(["sh", workdir / "entrypoint.sh", *args], cwd=workdir, env=env, capture_output=True,
                                text=True, check=False, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    handle = launch("torchx", "run", "--workspace", "", "--scheduler", "kubernetes", "dist.ddp", "-j", "2x1",
                    "--script", "train_ddp.py").strip().splitlines()[-1]
    assert handle.startswith(f"kubernetes://torchx/{NAMESPACE}:"), handle
    job_name = handle.rsplit(":", 1)[1]
    job = client.CustomObjectsApi(kube).get_namespaced_custom_object("batch.volcano.sh", "v1alpha1", NAMESPACE, "jobs",
                                                                     job_name)
    assert job["spec"]["queue"] == "training", ".torchxconfig points at the platform queue"
    assert job["spec"]["schedulerName"] == "volcano"
    tasks = job["spec"]["tasks"]
    assert sum(t["replicas"] for t in tasks) == 2, "two DDP nodes"
    assert all("train_ddp.py" in " ".join(t["template"]["spec"]["containers"][0]["command"]) for t in tasks)
    assert yaml.safe_load((tmp_path / ".kube/config").read_text())["users"][0]["user"] == {
        "tokenFile": str(tmp_path / "serviceaccount/token")}, "the kubeconfig follows token rotation"

    launch("torchx", "describe", handle)
    launch("torchx", "cancel", handle)
    assert job_name not in {j["metadata"]["name"] for j in client.CustomObjectsApi(kube).list_namespaced_custom_object(
        "batch.volcano.sh", "v1alpha1", NAMESPACE, "jobs")["items"]}


@pytest.mark.parametrize(("settings", "variable"), [
    ({"volcano_default_queue": "gpu"}, "volcano_default_queue"),
    ({"volcano_queues": [{"name": "Training", "weight": 1}]}, "volcano_queues"),
])
def test_bad_volcano_input_fails_in_preflight(run, kube, settings, variable):
    assert_fails_in_preflight(run, kube, {**SETTINGS, "volcano_training_namespace": "training-bad", **settings},
                              variable, "training-bad")
