"""What users do on the deployed platform: release models from a real MLflow registry through release.yml, and
submit the DDP example with TorchX as the least-privilege submitter.

Releases resolve models:/ references through tests/mlflow_local.py's server (TLS, basic auth, PostgreSQL, S3), a
real MLflow outside Kubernetes; its admin credential is given to release.yml in a Secret of a namespace of its own.
The launcher test runs the training chart's entrypoint.sh with a real ServiceAccount token, then TorchX (pinned like
the launcher image) submits, describes and cancels the DDP example with that token alone.
"""

import base64
import json
import ssl
import subprocess
import urllib.request

import pytest
import yaml
from kubernetes import client

from conftest import ROOT, gone, secret
from mlflow_local import ADMIN_PASSWORD, VENV, bucket_keys, mlflow_env
from paths import HELM
from training_launcher import SUBMIT_DDP, TRAINING, launcher

NAMESPACE = "seldon-mesh"
CREDENTIALS = "registry-credentials"  # the test registry's admin credential (not the platform MLflow's)
RELEASE = {
    "models": [
        {"name": "scaler", "uri": "models:/scaler@prod", "server": "mlserver"},
        {"name": "iris", "uri": "models:/iris@champion", "server": "mlserver", "replicas": 2},
        {"name": "iris-previous", "uri": "models:/iris/1", "server": "mlserver"},
    ],
    "pipelines": [{"name": "iris-pipeline", "steps": ["scaler", "iris"]}],
    "experiments": [{"name": "iris-ab", "default": "iris",
                     "candidates": [{"model": "iris", "weight": 90}, {"model": "iris-previous", "weight": 10}]}],
}


@pytest.fixture(scope="module")
def credentials(platform_kube):
    """The test registry's admin credential, where release.yml is told to read it."""
    core = client.CoreV1Api(platform_kube)
    core.create_namespace({"metadata": {"name": CREDENTIALS}})
    core.create_namespaced_secret(CREDENTIALS, {"metadata": {"name": "mlflow-admin"},
                                                "stringData": {"username": "admin", "password": ADMIN_PASSWORD}})
    yield {"namespace": CREDENTIALS, "name": "mlflow-admin"}
    core.delete_namespace(CREDENTIALS)


def seldon_objects(kube, plural, group="mlops.seldon.io", version="v1alpha1"):
    items = client.CustomObjectsApi(kube).list_namespaced_custom_object(group, version, NAMESPACE, plural)["items"]
    return {o["metadata"]["name"]: o for o in items}


@pytest.fixture(scope="module")
def registry(mlflow_server, mlflow_pki, mlflow_work):
    """iris versions 1 and 2 (alias champion -> 2), scaler version 1 (alias prod), logged through the server."""
    spec = {"versions": {"iris": 2, "scaler": 1}, "aliases": {"iris": {"champion": 2}, "scaler": {"prod": 1}}}
    result = subprocess.run([VENV / "bin/python", ROOT / "tests/mlflow_register.py", mlflow_server["url"], json.dumps(spec)],
                            env=mlflow_env(mlflow_pki, mlflow_work), capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def set_alias(server, pki, name, alias, version):
    """Move an alias, as a promotion in the registry does."""
    body = json.dumps({"name": name, "alias": alias, "version": str(version)}).encode()
    req = urllib.request.Request(server["url"] + "/api/2.0/mlflow/registered-models/alias", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": "Basic " +
                                          base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()})
    with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=str(pki / "ca.crt")), timeout=10) as resp:
        assert resp.status == 200


@pytest.fixture(scope="module")
def release(platform, credentials, registry, mlflow_server, mlflow_pki, tmp_path_factory):
    """Runs playbooks/release.yml with a release file; returns (run result, file path)."""
    folder = tmp_path_factory.mktemp("release")

    def release_with(content, check=False, **extra):
        path = folder / f"release-{len(list(folder.iterdir()))}.yml"
        path.write_text(yaml.safe_dump(content))
        settings = {"model_release_file": str(path), "model_release_code_version": "1.4.0",
                    "model_release_mlflow_url": mlflow_server["url"],
                    "model_release_mlflow_ca_file": str(mlflow_pki / "ca.crt"),
                    "model_release_mlflow_credentials": credentials, **extra}
        return platform.run("playbooks/release.yml", settings, check=check)
    return release_with


def helm_history(kubeconfig):
    out = subprocess.run([HELM, "history", "models", "--namespace", NAMESPACE, "--output", "json", "--kubeconfig",
                          kubeconfig], capture_output=True, text=True, check=False)
    return json.loads(out.stdout) if out.returncode == 0 else []


def test_release_resolves_registry_tags_revisions_and_rolls_back(release, registry, platform_kube, platform, mlflow_server,
                                                                 mlflow_pki, mlflow_s3):
    kube = platform_kube
    first = release(RELEASE)
    assert first.rc == 0, first.failure_messages
    models = seldon_objects(kube, "models")
    iris_v1, iris_v2 = (uri.replace("mlflow-artifacts:/", "s3://mlflow/") for uri in registry["iris"])
    assert models["iris"]["spec"]["storageUri"] == iris_v2, "champion resolved to version 2"
    assert models["iris-previous"]["spec"]["storageUri"] == iris_v1
    assert models["iris"]["spec"]["replicas"] == 2 and models["iris"]["spec"]["secretName"] == "seldon-models-s3"
    assert models["iris"]["metadata"]["annotations"]["mlops.platform/registry-version"] == "iris/2"
    prefix = iris_v2.removeprefix("s3://mlflow/")
    assert f"{prefix}/MLmodel" in bucket_keys(mlflow_s3, "mlflow", prefix), "the storage URI holds the logged model"
    pipeline = seldon_objects(kube, "pipelines")["iris-pipeline"]["spec"]
    assert [(s["name"], s.get("inputs")) for s in pipeline["steps"]] == [("scaler", None), ("iris", ["scaler"])]
    assert pipeline["output"]["steps"] == ["iris"]
    experiment = seldon_objects(kube, "experiments")["iris-ab"]["spec"]
    assert experiment["default"] == "iris"
    assert experiment["candidates"] == [{"name": "iris", "weight": 90}, {"name": "iris-previous", "weight": 10}]
    history = helm_history(platform.kubeconfig)
    assert [h["description"] for h in history] == ["1.4.0-scalerv1-irisv2-irisv1"]
    assert ADMIN_PASSWORD not in json.dumps(first.report) + first.stderr

    assert release(RELEASE).changed == 0, "same file, same registry: nothing to do"

    set_alias(mlflow_server, mlflow_pki, "iris", "champion", 1)
    assert release(RELEASE, model_release_code_version="1.4.1", check=True).rc == 0
    assert len(helm_history(platform.kubeconfig)) == 1, "check mode changes nothing"
    promoted = release(RELEASE, model_release_code_version="1.4.1")
    assert promoted.rc == 0 and promoted.changed == 1, promoted.failure_messages
    assert seldon_objects(kube, "models")["iris"]["spec"]["storageUri"] == iris_v1, "the alias moved"
    assert helm_history(platform.kubeconfig)[-1]["description"] == "1.4.1-scalerv1-irisv1"

    rollback = release(RELEASE, model_release_revision=1)
    assert rollback.rc == 0 and rollback.changed == 1, rollback.failure_messages
    assert seldon_objects(kube, "models")["iris"]["spec"]["storageUri"] == iris_v2, "revision 1's version is back"
    assert helm_history(platform.kubeconfig)[-1]["description"] == "rollback to 1: 1.4.0-scalerv1-irisv2-irisv1"
    assert release(RELEASE, model_release_revision=1).changed == 0


def with_changes(**changes):
    """RELEASE with some sections replaced."""
    return {**json.loads(json.dumps(RELEASE)), **changes}


@pytest.mark.parametrize(("content", "message"), [
    (with_changes(pipelines=[{"name": "p", "steps": ["scaler", "irsi"]}]), "unknown model 'irsi'"),
    (with_changes(experiments=[{"name": "ab", "candidates": [{"model": "iris", "weight": 60},
                                                             {"model": "iris-previous", "weight": 30}]}]),
     "weights add up to 90, not 100"),
    (with_changes(models=[{"name": "iris", "uri": "models:/iris@champion", "server": "triton"}], pipelines=[],
                  experiments=[]), "server triton does not exist"),
    (with_changes(models=[{"name": "iris", "uri": "models:/iris@staging", "server": "mlserver"}], pipelines=[],
                  experiments=[]), "models:/iris@staging does not resolve"),
], ids=["unknown-model", "weights", "missing-server", "unresolvable-alias"])
def test_bad_release_files_fail_before_any_change(release, platform, content, message):
    before = helm_history(platform.kubeconfig)
    result = release(content)
    assert result.rc != 0 and result.changed == 0
    assert any(message in m for m in result.failure_messages), result.failure_messages
    assert helm_history(platform.kubeconfig) == before


def test_launcher_submits_the_ddp_example_with_its_own_token(platform, platform_kube, tmp_path):
    kube = platform_kube
    launch, _ = launcher(platform, kube, tmp_path)
    handle = launch(*SUBMIT_DDP).strip().splitlines()[-1]
    assert handle.startswith(f"kubernetes://torchx/{TRAINING}:"), handle
    job_name = handle.rsplit(":", 1)[1]
    job = client.CustomObjectsApi(kube).get_namespaced_custom_object("batch.volcano.sh", "v1alpha1", TRAINING, "jobs",
                                                                     job_name)
    assert job["spec"]["queue"] == "training", ".torchxconfig points at the platform queue"
    assert job["spec"]["schedulerName"] == "volcano"
    tasks = job["spec"]["tasks"]
    assert sum(t["replicas"] for t in tasks) == 2, "two DDP nodes"
    assert all("train_ddp.py" in " ".join(t["template"]["spec"]["containers"][0]["command"]) for t in tasks)
    # What submit.py adds (pods.json), admitted by the job policy: the MLflow credential as Secret references (the
    # copy of MLflow's in this namespace), the platform CA and the scripts as ConfigMaps.
    core = client.CoreV1Api(kube)
    assert secret(core, TRAINING, "mlflow-training") == secret(core, "mlflow", "mlflow-training")
    assert secret(core, TRAINING, "mlflow-training")["username"] == "training"
    for task in tasks:
        pod = task["template"]["spec"]
        container = pod["containers"][0]
        given = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
        assert given["MLFLOW_TRACKING_USERNAME"] == {"secretKeyRef": {"name": "mlflow-training", "key": "username"}}
        assert given["MLFLOW_TRACKING_PASSWORD"] == {"secretKeyRef": {"name": "mlflow-training", "key": "password"}}
        assert given["MLFLOW_TRACKING_SERVER_CERT_PATH"] == "/etc/mlops-platform/ca/ca.crt"
        assert given["MLFLOW_TRACKING_URI"] == "https://mlflow.mlflow.svc"
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert volumes["platform-ca"]["configMap"]["name"] == "mlops-platform-ca" and mounts["platform-ca"] == "/etc/mlops-platform/ca"
        assert volumes["training-scripts"]["configMap"]["name"] == "training-launcher"
        assert mounts["training-scripts"] == container["workingDir"] == "/opt/training", "train_ddp.py where torchrun looks"
    assert secret(core, TRAINING, "mlflow-training")["password"] not in json.dumps(job), "no credential in the job"
    assert yaml.safe_load((tmp_path / ".kube/config").read_text())["users"][0]["user"] == {
        "tokenFile": str(tmp_path / "serviceaccount/token")}, "the kubeconfig follows token rotation"

    launch("torchx", "describe", handle)
    launch("torchx", "cancel", handle)
    assert job_name not in {j["metadata"]["name"] for j in client.CustomObjectsApi(kube).list_namespaced_custom_object(
        "batch.volcano.sh", "v1alpha1", TRAINING, "jobs")["items"]}


def test_a_volcano_only_run_copies_the_mlflow_credential_from_mlflow(platform, platform_kube):
    """Where MLflow is not in the run (--tags volcano), the copy comes from the Secret MLflow's install made."""
    core = client.CoreV1Api(platform_kube)
    core.delete_namespaced_secret("mlflow-training", TRAINING)
    assert gone(core.read_namespaced_secret, "mlflow-training", TRAINING)
    result = platform.run("playbooks/deploy.yml", tags="volcano")
    assert result.rc == 0, result.failure_messages
    assert [t.split(" : ")[-1] for t in result.changed_tasks()] == [
        "Generate missing credentials (created once, never changed; only a purge deletes them)"]
    assert secret(core, TRAINING, "mlflow-training") == secret(core, "mlflow", "mlflow-training")
