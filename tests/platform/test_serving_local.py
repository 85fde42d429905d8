"""A released model served by the real MLServer: a model registered in the real MLflow server of tests/mlflow_local.py,
released by release.yml onto the platform, then fetched and loaded as Seldon's agent does it for the Model the
release made. MLServer and mlserver-mlflow at the MLServer image's base tag, with the image's MLflow pin
(files/images/mlserver; venv by scripts/test-deps), run as the `mlserver` container of the deployed ServerConfig.

What stands in for Seldon's agent (it needs the scheduler): the real rclone (Debian) copies the Model's storageUri
with the remote of the Model's Secret (only its endpoint is the local S3 server's, plain HTTP on loopback), the
model-settings.json its MLServer handler writes for requirement `mlflow` (createMLFlowModelSettings, then
UpdateNameAndVersion: name `<model>_<version>`), the version folder it copies into MLSERVER_MODELS_DIR, and its
repository load request.
"""

import base64
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest
import yaml
from kubernetes import client

from mlflow_local import ADMIN_PASSWORD, VENV, mlflow_env, wait_for
from paths import CACHE
from test_workflows import NAMESPACE

MLSERVER = CACHE / "mlserver-venv/bin"
RCLONE = CACHE / "rclone/usr/bin/rclone"
ADDRESS = "127.0.0.11"  # the server pod's address: MLServer's host (0.0.0.0 in the pod)
CREDENTIALS = "serving-credentials"
MODEL = "doubler"
REGISTER = """
import sys
import mlflow
import pandas
from mlflow import MlflowClient

class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input * 2

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("serving-test")
with mlflow.start_run():
    # The signature (from the example) tells MLServer how to decode a request: a DataFrame with column x.
    info = mlflow.pyfunc.log_model(name="model", python_model=Doubler(), pip_requirements=["mlflow"],
                                   input_example=pandas.DataFrame({"x": [1.0, 2.0]}))
version = mlflow.register_model(info.model_uri, sys.argv[2]).version
MlflowClient().set_registered_model_alias(sys.argv[2], "prod", version)
"""


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except urllib.error.URLError:
        return 0, {}  # nothing listens yet


@pytest.fixture(scope="module")
def released(platform, platform_kube, mlflow_server, mlflow_pki, mlflow_work, tmp_path_factory):
    """MODEL registered (alias prod) and released by release.yml: the Model object the release made."""
    core = client.CoreV1Api(platform_kube)
    core.create_namespace({"metadata": {"name": CREDENTIALS}})
    core.create_namespaced_secret(CREDENTIALS, {"metadata": {"name": "mlflow-admin"},
                                                "stringData": {"username": "admin", "password": ADMIN_PASSWORD}})
    registered = subprocess.run([VENV / "bin/python", "-c", REGISTER, mlflow_server["url"], MODEL],
                                env=mlflow_env(mlflow_pki, mlflow_work), capture_output=True, text=True, check=False)
    assert registered.returncode == 0, registered.stderr[-3000:]
    release_file = tmp_path_factory.mktemp("serving") / "release.yml"
    release_file.write_text(yaml.safe_dump({"models": [{"name": MODEL, "uri": f"models:/{MODEL}@prod",
                                                        "server": "mlserver"}]}))
    result = platform.run("playbooks/release.yml", {
        "model_release_file": str(release_file), "model_release_code_version": "2.0.0",
        "model_release_mlflow_url": mlflow_server["url"], "model_release_mlflow_ca_file": str(mlflow_pki / "ca.crt"),
        "model_release_mlflow_credentials": {"namespace": CREDENTIALS, "name": "mlflow-admin"}})
    assert result.rc == 0, result.failure_messages
    yield client.CustomObjectsApi(platform_kube).get_namespaced_custom_object(
        "mlops.seldon.io", "v1alpha1", NAMESPACE, "models", MODEL)
    core.delete_namespace(CREDENTIALS)


def rclone_config(kube, secret_name, endpoint, target):
    """The Model Secret's remote as rclone.conf (Seldon's agent creates the same remote through rclone's API)."""
    data = client.CoreV1Api(kube).read_namespaced_secret(secret_name, NAMESPACE).data
    (remote,) = (yaml.safe_load(base64.b64decode(value)) for value in data.values())
    parameters = {**remote["parameters"], "endpoint": endpoint}
    target.write_text(f"[{remote['name']}]\ntype = {remote['type']}\n" + "".join(
        f"{k} = {str(v).lower() if isinstance(v, bool) else v}\n" for k, v in parameters.items()))
    return remote["name"]


def agent_download(kube, model, models_dir, endpoint, work):
    """What the agent does before MLServer loads version 1 of model: its MLServer model name."""
    spec = model["spec"]
    conf = work / "rclone.conf"
    remote = rclone_config(kube, spec["secretName"], endpoint, conf)
    scheme, path = spec["storageUri"].split("://", 1)
    assert scheme == remote == "s3", "the storage URI's scheme names the Secret's remote"
    fetched = work / "rclone" / model["metadata"]["name"]
    copy = subprocess.run([RCLONE, "--config", conf, "copy", f"{remote}:{path}", fetched], capture_output=True,
                          text=True, check=False, env={"PATH": os.environ["PATH"], "HOME": str(work)})
    assert copy.returncode == 0, copy.stderr
    assert "mlflow" in spec["requirements"] and not (fetched / "model-settings.json").exists()
    name = f"{model['metadata']['name']}_1"
    settings = {"name": name, "implementation": "mlserver_mlflow.MLflowRuntime",
                "parameters": {"uri": "./", "version": "1"}}
    (fetched / "model-settings.json").write_text(json.dumps(settings))
    shutil.copytree(fetched, models_dir / name / "1")
    return name


def mlserver_container(kube):
    """The mlserver container of Seldon's ServerConfig `mlserver`, as the setup chart deployed it."""
    configs = client.CustomObjectsApi(kube).list_cluster_custom_object("mlops.seldon.io", "v1alpha1", "serverconfigs")
    (config,) = (c for c in configs["items"] if c["metadata"]["name"] == "mlserver")
    return next(c for c in config["spec"]["podSpec"]["containers"] if c["name"] == "mlserver")


def test_a_released_model_is_served_by_mlserver(released, platform_kube, mlflow_s3, tmp_path):
    container = mlserver_container(platform_kube)
    env = {e["name"]: e["value"] for e in container["env"]}
    models_mount = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "mlserver-models")
    models_dir = tmp_path / env["MLSERVER_MODELS_DIR"].removeprefix(models_mount).strip("/")
    models_dir.mkdir(parents=True)
    env = {**env, "MLSERVER_MODELS_DIR": str(models_dir), "MLSERVER_HOST": ADDRESS,
           "PATH": f"{MLSERVER}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    assert env["MLSERVER_LOAD_MODELS_AT_STARTUP"] == "false", "the agent loads models, not MLServer's start"
    base = f"http://{ADDRESS}:{env['MLSERVER_HTTP_PORT']}/v2"
    with open(tmp_path / "mlserver.log", "w", encoding="utf-8") as log:
        server = subprocess.Popen([MLSERVER / "mlserver", "start", models_dir], env=env, cwd=tmp_path, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: post(f"{base}/repository/index", {})[0] == 200, 120), (
            tmp_path / "mlserver.log").read_text()[-3000:]
        name = agent_download(platform_kube, released, models_dir, mlflow_s3, tmp_path)
        status, body = post(f"{base}/repository/models/{name}/load", {})
        assert status == 200, ((tmp_path / "mlserver.log").read_text()[-4000:], body)
        status, body = post(f"{base}/models/{name}/infer", {"inputs": [
            {"name": "x", "shape": [3], "datatype": "FP64", "data": [1.0, 2.5, -4.0]}]})
        assert status == 200, body
        assert [output["data"] for output in body["outputs"]] == [[2.0, 5.0, -8.0]], "the model's prediction"
        status, body = post(f"{base}/models/no-such-model/infer", {"inputs": [
            {"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]}]})
        assert status == 404 and "no-such-model" in body["error"], body
    finally:
        server.terminate()
        server.wait(30)
