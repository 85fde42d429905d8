"""The training launcher as its pod runs it, outside Kubernetes: entrypoint.sh with the deployed launcher ConfigMap and
a real token of the submitter ServiceAccount, TorchX from the launcher venv (files/images/launcher's pins)."""

import base64
import os
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import yaml
from kubernetes import client

from paths import CACHE

TRAINING = "training"
TORCHX = CACHE / "torchx-venv/bin"


def launcher_files(kube, target):
    """The deployed launcher ConfigMap (rendered with the role's values), written out as it is mounted at /opt/training."""
    config_map = client.CoreV1Api(kube).read_namespaced_config_map("training-launcher", TRAINING)
    for name, text in config_map.data.items():
        (target / name).write_text(text)


def service_account_dir(kube, kubeconfig, target):
    """What the kubelet mounts for the submitter: a fresh token, the cluster CA, the namespace."""
    token = client.CoreV1Api(kube).create_namespaced_service_account_token(
        "torchx-submitter", TRAINING, {"spec": {"expirationSeconds": 600}}).status.token
    cluster = yaml.safe_load(Path(kubeconfig).read_text())["clusters"][0]["cluster"]
    ca = (base64.b64decode(cluster["certificate-authority-data"]).decode() if "certificate-authority-data" in cluster
          else Path(cluster["certificate-authority"]).read_text())
    target.mkdir()
    (target / "token").write_text(token)
    (target / "ca.crt").write_text(ca)
    (target / "namespace").write_text(TRAINING)
    return urlparse(cluster["server"])


def launcher(platform, kube, tmp_path):
    """The launcher as its pod runs it: entrypoint.sh with the deployed scripts and a real submitter token.
    Returns launch(*args) (stdout) and the scripts' folder."""
    workdir = tmp_path / "opt-training"
    workdir.mkdir()
    launcher_files(kube, workdir)
    server = service_account_dir(kube, platform.kubeconfig, tmp_path / "serviceaccount")
    env = {"PATH": f"{TORCHX}:{os.environ['PATH']}", "HOME": str(tmp_path), "SERVICE_ACCOUNT_DIR": str(tmp_path / "serviceaccount"),
           "KUBERNETES_SERVICE_HOST": server.hostname, "KUBERNETES_SERVICE_PORT": str(server.port)}

    def launch(*args):
        result = subprocess.run(["sh", workdir / "entrypoint.sh", *args], cwd=workdir, env=env, capture_output=True,
                                text=True, check=False, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout
    return launch, workdir


SUBMIT_DDP = ("python", "submit.py", "dist.ddp", "-j", "2x1", "--script", "train_ddp.py")
