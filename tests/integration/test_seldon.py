"""Seldon role on the real API server, and model releases resolved through a real MLflow server.

The role's upstream charts (Strimzi, Seldon setup/runtime) are off in CI (no registry); our seldon-platform chart
(Kafka, KafkaNodePool, KafkaUser, Servers, certificates, monitors, policies) is installed against the real CRDs.
Releases resolve models:/ references through tests/mlflow_local.py's server (TLS, basic auth, PostgreSQL, S3).
"""

import base64
import json
import os
import ssl
import subprocess
import urllib.request

import pytest
import yaml
from kubernetes import client

from conftest import PURGE, ROOT, assert_fails_in_preflight
from mlflow_local import ADMIN_PASSWORD, VENV, bucket_keys
from paths import HELM
from test_platform_core import gone

NAMESPACE = "seldon-mesh"
CREDENTIALS = "registry-credentials"  # stands in for the mlflow namespace: its admin and object store Secrets
OBJECT_STORE_KEY = "0bjectStoreSecretKeyForSeldon"
SETTINGS = {"crds_components": ["cert-manager", "prometheus-operator", "seldon-core-v2", "strimzi"],
            "platform_components": {"seldon": True},
            "seldon_model_storage_credentials": {"namespace": CREDENTIALS, "name": "mlflow-object-store"}}
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
def seldon(run, kube):
    """Seldon deployed once for the module (credentials Secrets first), purged at the end."""
    core = client.CoreV1Api(kube)
    core.create_namespace({"metadata": {"name": CREDENTIALS}})
    core.create_namespaced_secret(CREDENTIALS, {"metadata": {"name": "mlflow-object-store"},
                                                "stringData": {"accessKey": "mlflow", "secretKey": OBJECT_STORE_KEY}})
    core.create_namespaced_secret(CREDENTIALS, {"metadata": {"name": "mlflow-admin"},
                                                "stringData": {"username": "admin", "password": ADMIN_PASSWORD}})
    first = run("playbooks/deploy.yml", SETTINGS)
    assert first.rc == 0, first.failure_messages
    yield first
    down = run("playbooks/teardown.yml", {**SETTINGS, **PURGE})
    assert down.rc == 0, down.failure_messages
    assert gone(core.read_namespace, NAMESPACE)
    core.delete_namespace(CREDENTIALS)


def seldon_objects(kube, plural, group="mlops.seldon.io", version="v1alpha1"):
    items = client.CustomObjectsApi(kube).list_namespaced_custom_object(group, version, NAMESPACE, plural)["items"]
    return {o["metadata"]["name"]: o for o in items}


def test_seldon_role_installs_kafka_servers_and_model_storage(seldon, run, kube, core):
    labels = core.read_namespace(NAMESPACE).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["mlops.platform/role"] == "model-serving", "MLflow's object store admits this namespace"

    kafka = seldon_objects(kube, "kafkas", "kafka.strimzi.io", "v1beta2")["seldon"]
    listener = kafka["spec"]["kafka"]["listeners"][0]
    assert (listener["port"], listener["tls"], listener["authentication"]["type"]) == (9093, True, "tls")
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    pool = seldon_objects(kube, "kafkanodepools", "kafka.strimzi.io", "v1beta2")["seldon-dual-role"]
    assert pool["spec"]["storage"]["volumes"][0]["deleteClaim"] is False, "Kafka's data outlives its resource"
    user = seldon_objects(kube, "kafkausers", "kafka.strimzi.io", "v1beta2")["seldon"]
    assert {(a["resource"]["type"], a["resource"]["name"], a["resource"]["patternType"]) for a in
            user["spec"]["authorization"]["acls"]} == {("topic", "seldon", "prefix"), ("group", "seldon", "prefix")}

    server = seldon_objects(kube, "servers")["mlserver"]
    assert server["spec"]["serverConfig"] == "mlserver"
    rclone = next(c for c in server["spec"]["podSpec"]["containers"] if c["name"] == "rclone")
    assert {"name": "SSL_CERT_FILE", "value": "/etc/platform-ca/ca.crt"} in rclone["env"], "rclone trusts the platform CA"

    remote = yaml.safe_load(base64.b64decode(core.read_namespaced_secret("seldon-models-s3", NAMESPACE).data["s3"]))
    assert remote["type"] == "s3" and remote["name"] == "s3"
    assert remote["parameters"]["secret_access_key"] == OBJECT_STORE_KEY
    assert remote["parameters"]["endpoint"] == "https://mlflow-minio.mlflow.svc:9000"
    assert OBJECT_STORE_KEY not in json.dumps(seldon.report) + seldon.stderr

    certificates = client.CustomObjectsApi(kube).list_namespaced_custom_object(
        "cert-manager.io", "v1", NAMESPACE, "certificates")["items"]
    assert {c["spec"]["secretName"] for c in certificates} == {"seldon-controlplane-server", "seldon-controlplane-client"}

    again = run("playbooks/deploy.yml", SETTINGS)
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    assert run("playbooks/deploy.yml", SETTINGS, check=True).changed == 0


def test_missing_object_store_credentials_fail_before_the_namespace_exists(run, kube):
    settings = {**SETTINGS, "seldon_namespace": "seldon-missing",
                "seldon_model_storage_credentials": {"namespace": CREDENTIALS, "name": "no-such-secret"}}
    result = run("playbooks/deploy.yml", settings, tags="seldon")
    assert result.rc != 0 and any("no-such-secret" in m for m in result.failure_messages), result.failure_messages
    assert "seldon-missing" not in {n.metadata.name for n in client.CoreV1Api(kube).list_namespace().items}


@pytest.mark.parametrize(("settings", "variable"), [
    ({"seldon_servers": [{"name": "MLServer", "serverConfig": "mlserver", "replicas": 1}]}, "seldon_servers"),
    ({"seldon_tracing_endpoint": "http://collector"}, "seldon_tracing_endpoint"),
])
def test_bad_seldon_input_fails_in_preflight(run, kube, settings, variable):
    assert_fails_in_preflight(run, kube, {**SETTINGS, "seldon_namespace": "seldon-bad", **settings}, variable,
                              "seldon-bad")


@pytest.fixture(scope="module")
def registry(mlflow_server, mlflow_pki, mlflow_work):
    """iris versions 1 and 2 (alias champion -> 2), scaler version 1 (alias prod), logged through the server."""
    spec = {"versions": {"iris": 2, "scaler": 1}, "aliases": {"iris": {"champion": 2}, "scaler": {"prod": 1}}}
    result = subprocess.run([VENV / "bin/python", ROOT / "tests/mlflow_register.py", mlflow_server["url"], json.dumps(spec)],
                            env=mlflow_env(mlflow_pki, mlflow_work), capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def mlflow_env(pki, work):
    return {"PATH": os.environ["PATH"], "HOME": str(work), "MLFLOW_TRACKING_USERNAME": "admin",
            "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD, "MLFLOW_TRACKING_SERVER_CERT_PATH": str(pki / "ca.crt")}


def set_alias(server, pki, name, alias, version):
    """Move an alias, as a promotion in the registry does."""
    body = json.dumps({"name": name, "alias": alias, "version": str(version)}).encode()
    req = urllib.request.Request(server["url"] + "/api/2.0/mlflow/registered-models/alias", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": "Basic " +
                                          base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()})
    with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=str(pki / "ca.crt")), timeout=10) as resp:
        assert resp.status == 200


@pytest.fixture(scope="module")
def release(seldon, registry, mlflow_server, mlflow_pki, run, tmp_path_factory):
    """Runs playbooks/release.yml with a release file; returns (run result, file path)."""
    folder = tmp_path_factory.mktemp("release")

    def release_with(content, check=False, **extra):
        path = folder / f"release-{len(list(folder.iterdir()))}.yml"
        path.write_text(yaml.safe_dump(content))
        settings = {"model_release_file": str(path), "model_release_code_version": "1.4.0",
                    "model_release_mlflow_url": mlflow_server["url"],
                    "model_release_mlflow_ca_file": str(mlflow_pki / "ca.crt"),
                    "model_release_mlflow_credentials": {"namespace": CREDENTIALS, "name": "mlflow-admin"}, **extra}
        return run("playbooks/release.yml", settings, check=check)
    return release_with


def helm_history(kubeconfig):
    out = subprocess.run([HELM, "history", "models", "--namespace", NAMESPACE, "--output", "json", "--kubeconfig",
                          kubeconfig], capture_output=True, text=True, check=False)
    return json.loads(out.stdout) if out.returncode == 0 else []


def test_release_resolves_registry_tags_revisions_and_rolls_back(release, registry, kube, sim_cluster, mlflow_server,
                                                                 mlflow_pki, mlflow_s3):
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
    history = helm_history(sim_cluster[1])
    assert [h["description"] for h in history] == ["1.4.0-scalerv1-irisv2-irisv1"]
    assert ADMIN_PASSWORD not in json.dumps(first.report) + first.stderr

    assert release(RELEASE).changed == 0, "same file, same registry: nothing to do"

    set_alias(mlflow_server, mlflow_pki, "iris", "champion", 1)
    assert release(RELEASE, model_release_code_version="1.4.1", check=True).rc == 0
    assert len(helm_history(sim_cluster[1])) == 1, "check mode changes nothing"
    promoted = release(RELEASE, model_release_code_version="1.4.1")
    assert promoted.rc == 0 and promoted.changed == 1, promoted.failure_messages
    assert seldon_objects(kube, "models")["iris"]["spec"]["storageUri"] == iris_v1, "the alias moved"
    assert helm_history(sim_cluster[1])[-1]["description"] == "1.4.1-scalerv1-irisv1"

    rollback = release(RELEASE, model_release_revision=1)
    assert rollback.rc == 0 and rollback.changed == 1, rollback.failure_messages
    assert seldon_objects(kube, "models")["iris"]["spec"]["storageUri"] == iris_v2, "revision 1's version is back"
    assert helm_history(sim_cluster[1])[-1]["description"] == "rollback to 1: 1.4.0-scalerv1-irisv2-irisv1"
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
def test_bad_release_files_fail_before_any_change(release, sim_cluster, content, message):
    before = helm_history(sim_cluster[1])
    result = release(content)
    assert result.rc != 0 and result.changed == 0
    assert any(message in m for m in result.failure_messages), result.failure_messages
    assert helm_history(sim_cluster[1]) == before
