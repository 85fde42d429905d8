"""Model servers read artifacts and nothing else (issue 15.3): the rclone remote the seldon role made and the MinIO
read policy the mlflow chart installed, both as the converged cluster holds them, run by the real rclone (Debian
package) against moto's S3 server enforcing that policy as AWS IAM does (MinIO implements the same policy language;
MinIO itself is not run here)."""

import base64
import json
import os
import socket
import subprocess

import pytest
import yaml
from kubernetes import client

from conftest import secret
from mlflow_local import VENV, free_port, wait_for
from paths import CACHE

RCLONE = CACHE / "rclone/usr/bin/rclone"
ADDRESS = "127.0.0.9"
MODEL = "1/models/m-1/artifacts/MLmodel"
# Run by the smoke venv's Python (boto3): buckets `mlflow` (one model) and `other`, a user holding exactly the policy
# given (argv[2]); prints that user's access key.
SETUP = """
import json, sys
import boto3
keys = {"endpoint_url": sys.argv[1], "aws_access_key_id": "setup", "aws_secret_access_key": "setup",
        "region_name": "us-east-1"}
s3, iam = boto3.client("s3", **keys), boto3.client("iam", **keys)
s3.create_bucket(Bucket="mlflow")
s3.put_object(Bucket="mlflow", Key=sys.argv[3], Body=b"artifact_path: model\\n")
s3.create_bucket(Bucket="other")
iam.create_user(UserName="reader")
arn = iam.create_policy(PolicyName="mlflow-read", PolicyDocument=sys.argv[2])["Policy"]["Arn"]
iam.attach_user_policy(UserName="reader", PolicyArn=arn)
print(json.dumps(iam.create_access_key(UserName="reader")["AccessKey"], default=str))
"""


@pytest.fixture(scope="module")
def served(platform_kube):
    """(the remote's parameters, the read policy, both Secrets the mlflow role generated)."""
    core = client.CoreV1Api(platform_kube)
    remote = yaml.safe_load(base64.b64decode(core.read_namespaced_secret("seldon-models-s3", "seldon-mesh").data["s3"]))
    policy = json.loads(core.read_namespaced_config_map("mlflow-scripts", "mlflow").data["mlflow-read.json"])
    return (remote["parameters"], policy, secret(core, "mlflow", "mlflow-object-store-reader"),
            secret(core, "mlflow", "mlflow-object-store"))


@pytest.fixture(scope="module")
def store(served, tmp_path_factory):
    """moto enforcing IAM after its setup requests: buckets `mlflow` (one model) and `other`, and a user holding
    exactly the chart's read policy; yields an rclone config of the cluster's remote with that user's keys."""
    setup_requests = 8  # SETUP's calls; moto authorizes every request after them
    port, work = free_port(), tmp_path_factory.mktemp("model-storage")
    env = {"PATH": os.environ["PATH"], "INITIAL_NO_AUTH_ACTION_COUNT": str(setup_requests)}
    proc = subprocess.Popen([VENV / "bin/moto_server", "-H", ADDRESS, "-p", str(port)], env=env,
                            stdout=open(work / "moto.log", "w"), stderr=subprocess.STDOUT)
    endpoint = f"http://{ADDRESS}:{port}"
    assert wait_for(lambda: listening(ADDRESS, port), 30), "moto listens (a request would spend its setup budget)"
    setup = subprocess.run([VENV / "bin/python", "-c", SETUP, endpoint, json.dumps(served[1]), MODEL],
                           capture_output=True, text=True, check=False, env={"PATH": os.environ["PATH"]})
    assert setup.returncode == 0, setup.stderr
    issued = json.loads(setup.stdout)
    # The cluster's remote as rclone.conf; moto issues its own keys, and plain HTTP on loopback is its endpoint.
    parameters = {**served[0], "access_key_id": issued["AccessKeyId"], "secret_access_key": issued["SecretAccessKey"],
                  "endpoint": endpoint}
    conf = work / "rclone.conf"
    conf.write_text("[s3]\n" + "".join(f"{k} = {str(v).lower() if isinstance(v, bool) else v}\n"
                                        for k, v in {"type": "s3", **parameters}.items()))
    yield conf, work
    proc.terminate()


def listening(address, port):
    with socket.socket() as sock:
        return sock.connect_ex((address, port)) == 0


def rclone(conf, *args):
    return subprocess.run([RCLONE, "--config", conf, "--retries", "1", "--low-level-retries", "1", *args],
                          env={"PATH": os.environ["PATH"], "HOME": str(conf.parent)}, capture_output=True, text=True)


def test_the_remote_holds_the_read_only_user_not_the_root_credential(served):
    parameters, _, reader, root = served
    assert (parameters["access_key_id"], parameters["secret_access_key"]) == (reader["accessKey"], reader["secretKey"])
    assert reader["accessKey"] != root["accessKey"] and reader["secretKey"] != root["secretKey"]
    assert parameters["provider"] == "Minio" and parameters["env_auth"] is False


def test_a_model_server_downloads_a_model_but_cannot_write_delete_or_read_elsewhere(store):
    conf, work = store
    fetched = rclone(conf, "copy", "s3:mlflow/" + MODEL.rsplit("/", 1)[0], work / "model")
    assert fetched.returncode == 0, fetched.stderr
    assert (work / "model/MLmodel").read_text() == "artifact_path: model\n"
    assert rclone(conf, "lsf", "s3:mlflow/1/models").stdout.split() == ["m-1/"], "lists the artifact bucket"
    for args in (("copyto", conf, "s3:mlflow/1/models/m-1/artifacts/MLmodel"), ("deletefile", "s3:mlflow/" + MODEL),
                 ("lsf", "s3:other"), ("mkdir", "s3:new-bucket")):
        refused = rclone(conf, *args)
        assert refused.returncode != 0 and "AccessDenied" in refused.stderr, (args, refused.stderr)
    assert rclone(conf, "cat", "s3:mlflow/" + MODEL).stdout == "artifact_path: model\n", "the artifact is unchanged"
