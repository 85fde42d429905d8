"""The DDP example as Volcano would run it, run by the real software: the Volcano Job the launcher submitted (TorchX
at the launcher image's pins, with the deployed scripts and a real submitter token), read back from the API server,
its two pods started as local processes (tests/local_pods.py) under the launcher image's torch, in a loopback-only
pod network (tests/pod_network.py) with the names Volcano's svc plugin gives them, against the real MLflow server of
tests/mlflow_local.py (TLS, basic auth) reached at the tracking URI the role renders.

What stands in for the cluster: the svc plugin's environment and pod hostnames (computed from the Job as its
GenerateHosts does), the cluster DNS (the network's hosts file), the platform CA's ConfigMap (the test's CA) and the
credential Secret's values (the MLflow server's service user).
"""

import json
import os
import subprocess
from urllib.parse import urlencode, urlparse

from kubernetes import client

from local_pods import LocalPod, by_kind
from mlflow_local import ADMIN_PASSWORD, SERVICE_USER, mlflow_chart_objects, request
from pod_network import PodNetwork
from training_launcher import SUBMIT_DDP, TORCHX, TRAINING, launcher

MLFLOW_ADDRESS = "127.0.0.10"
FIRST_POD_ADDRESS = 20
PREDICT = """
import sys, mlflow, numpy
mlflow.set_tracking_uri(sys.argv[1])
print(mlflow.pyfunc.load_model("models:/ddp-example@candidate").predict(numpy.ones((3, 4), dtype="float32")).shape)
"""


def volcano_pods(job):
    """[(task, pod hostname, FQDN)] and the svc plugin's environment, as Volcano names a Job's pods."""
    name, pods, env = job["metadata"]["name"], [], {}
    for task in job["spec"]["tasks"]:
        hosts = [f"{name}-{task['name']}-{index}" for index in range(task["replicas"])]
        pods += [(task, host, f"{host}.{name}") for host in hosts]
        key = task["name"].replace("-", "_").upper()
        env[f"VC_{key}_HOSTS"], env[f"VC_{key}_NUM"] = ",".join(f"{h}.{name}" for h in hosts), str(len(hosts))
    return pods, env


def mlflow_service_port():
    """The port of the role's MLflow Service that the tracking URI's https default reaches."""
    service = next(o for o in mlflow_chart_objects("Service") if o["metadata"]["name"] == "mlflow")
    return next(p["port"] for p in service["spec"]["ports"] if p["port"] == 443)


def api(server, path, query=None, body=None):
    url = f"{server['url']}/api/2.0/mlflow/{path}" + (f"?{urlencode(query)}" if query else "")
    status, text = request(server["pki"], url, auth=("admin", ADMIN_PASSWORD), body=body)
    assert status == 200, (path, status, text[-500:])
    return json.loads(text)


def test_the_submitted_ddp_example_trains_and_registers_one_candidate(platform, platform_kube, tmp_path,
                                                                      mlflow_server, mlflow_pki):
    kube = platform_kube
    launch, scripts = launcher(platform, kube, tmp_path)
    handle = launch(*SUBMIT_DDP).strip().splitlines()[-1]
    job = client.CustomObjectsApi(kube).get_namespaced_custom_object(
        "batch.volcano.sh", "v1alpha1", TRAINING, "jobs", handle.rsplit(":", 1)[1])
    launch("torchx", "cancel", handle)  # the sim cluster runs no pod: the pods run here
    pods, volcano_env = volcano_pods(job)
    assert len(pods) == 2
    tracking = urlparse(next(e["value"] for e in job["spec"]["tasks"][0]["template"]["spec"]["containers"][0]["env"]
                             if e["name"] == "MLFLOW_TRACKING_URI"))
    assert tracking.scheme == "https" and tracking.port is None and mlflow_service_port() == 443
    config_maps = [client.CoreV1Api(kube).read_namespaced_config_map("training-launcher", TRAINING).to_dict(),
                   {"kind": "ConfigMap", "metadata": {"name": "mlops-platform-ca"},
                    "data": {"ca.crt": (mlflow_pki / "ca.crt").read_text()}}]
    config_maps[0]["kind"] = "ConfigMap"
    assert by_kind(config_maps, "ConfigMap", "training-launcher")["data"]["train_ddp.py"] == (
        scripts / "train_ddp.py").read_text()
    addresses = {fqdn: f"127.0.0.{FIRST_POD_ADDRESS + i}" for i, (_, _, fqdn) in enumerate(pods)}
    hosts = {MLFLOW_ADDRESS: [tracking.hostname, f"{tracking.hostname}.cluster.local"],
             **{addresses[fqdn]: [fqdn, host, f"{fqdn}.{TRAINING}.svc.cluster.local"] for _, host, fqdn in pods}}
    secret_values = {"mlflow-training": {"username": SERVICE_USER["username"], "password": SERVICE_USER["password"]}}
    with PodNetwork(hosts, tmp_path) as network:
        network.relay(MLFLOW_ADDRESS, 443, urlparse(mlflow_server["url"]).port)
        processes = []
        for task, host, fqdn in pods:
            pod = LocalPod(task["template"], addresses[fqdn], config_maps, tmp_path / host, {}, {})
            container = pod.container()
            env = {"PATH": f"{TORCHX}:{os.environ['PATH']}", "HOME": str(pod.work), **volcano_env,
                   **pod.env(container, secret_values)}
            cwd = pod.local(container["workingDir"], container)  # the scripts' ConfigMap, where torchrun looks
            with open(pod.work / "log", "w", encoding="utf-8") as log:
                processes.append((host, pod.work / "log", subprocess.Popen(
                    network.inside(pod.argv(container), host), env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)))
        for host, log, process in processes:
            assert process.wait(timeout=600) == 0, f"{host}: " + log.read_text()[-4000:]

    server = {"url": mlflow_server["url"], "pki": mlflow_pki}
    experiment = api(server, "experiments/get-by-name", {"experiment_name": "ddp-example"})["experiment"]
    runs = api(server, "runs/search", body={"experiment_ids": [experiment["experiment_id"]]})["runs"]
    assert len(runs) == 1, "rank 0 alone logs"
    run = runs[0]
    assert run["info"]["user_id"] == SERVICE_USER["username"] and run["info"]["status"] == "FINISHED"
    assert {p["key"]: p["value"] for p in run["data"]["params"]} == {"world_size": "2", "epochs": "3"}
    history = api(server, "metrics/get-history", {"run_id": run["info"]["run_id"], "metric_key": "loss"})["metrics"]
    assert sorted(m["step"] for m in history) == [0, 1, 2]
    candidate = api(server, "registered-models/alias", {"name": "ddp-example", "alias": "candidate"})["model_version"]
    assert candidate["run_id"] == run["info"]["run_id"] and candidate["status"] == "READY"
    predicted = subprocess.run(
        [TORCHX / "python", "-c", PREDICT, mlflow_server["url"]], capture_output=True, text=True, check=False,
        env={**os.environ, "MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD,
             "MLFLOW_TRACKING_SERVER_CERT_PATH": str(mlflow_pki / "ca.crt")})
    assert predicted.returncode == 0 and predicted.stdout.strip().endswith("(3, 1)"), predicted.stderr[-3000:]
