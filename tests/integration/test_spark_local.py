"""Spark standalone as the role renders it, run by the real Spark (PySpark from PyPI at the image's version, OpenJDK 17)
as local processes: a master, two workers and the example client-mode drivers, each on its own loopback address and
with its own /tmp and /etc/hosts (as in a container), with the rendered commands, environment and
spark-defaults.conf (tests/local_pods.py says what changes). The MLflow example logs to the smoke MLflow server."""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from conftest import Runner
from local_pods import LocalPod, by_kind, pod_templates, service_hosts
from mlflow_local import SPARK_USER, request
from paths import CACHE, ROOT

VENV = CACHE / "spark-venv"
SAMPLE = re.compile(r"^(?P<series>[A-Za-z_:][A-Za-z0-9_:]*(?:\{[^}]*\})?) (?P<value>[-+0-9.eE]+|NaN)$")
JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"
ADDRESSES = {"spark-master": "127.0.0.2", "spark-worker": ["127.0.0.3", "127.0.0.4"], "spark-example": "127.0.0.5",
             "spark-ml-example": "127.0.0.6"}
MLFLOW_ADDRESS = "127.0.0.7"  # the MLflow Service as drivers resolve it: a relay to the smoke server
# A driver that stays up (its UI serves the driver's metrics) until the test kills it.
HELD_DRIVER = """
import time
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("held-driver").getOrCreate()
print(spark.sparkContext.parallelize(range(10), 2).sum(), spark.sparkContext.applicationId, flush=True)
time.sleep(600)
"""


def spark_home():
    return next(VENV.glob("lib/python3*/site-packages/pyspark"))


def http(url, method="GET"):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return None, ""


def wait_for(check, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The spark release exactly as the role renders it (playbooks/images.yml: the role's values, our post-renderer),
    with two workers and the example driver Job."""
    folder = tmp_path_factory.mktemp("spark-rendered")
    result = Runner({})("playbooks/images.yml", {
        "platform_components": {"nfs": True, "spark": True}, "spark_workers": 2,
        "spark_values": {"launcher": {"exampleJob": True}}, "platform_render_dir": str(folder)})
    assert result.rc == 0, result.failure_messages
    namespace = json.loads((folder / "spark.release.json").read_text())["namespace"]
    return [o for o in yaml.safe_load_all((folder / "spark.yaml").read_text()) if o], namespace


@pytest.fixture(scope="module")
def objects(rendered):
    return rendered[0]


@pytest.fixture(scope="module")
def cluster(rendered, mlflow_pki):  # pylint: disable=too-many-locals
    """Master and two workers running; yields what a driver needs to start."""
    rendered, namespace = rendered
    # Not under /tmp: every pod has a /tmp of its own.
    work = Path(tempfile.mkdtemp(prefix="spark-local-", dir="/var/tmp"))
    shared = work / "shared-claim"
    shared.mkdir()
    templates = pod_templates(rendered)
    hosts = work / "hosts"
    hosts.write_text("\n".join(["127.0.0.1 localhost", *service_hosts(rendered, ADDRESSES, namespace),
                                f"{MLFLOW_ADDRESS} mlflow.mlflow.svc mlflow.mlflow.svc.cluster.local"]) + "\n")
    auth = {"spark-auth": {"secret": secrets.token_urlsafe(24)},
            SPARK_USER["secret"]: {"username": SPARK_USER["username"], "password": SPARK_USER["password"]}}
    # The platform CA bundle trust-manager puts in every platform namespace: here the smoke server's CA.
    objects = [*rendered, {"kind": "ConfigMap", "metadata": {"name": "mlops-platform-ca"},
                           "data": {"ca.crt": (mlflow_pki / "ca.crt").read_text()}}]
    home = spark_home()
    base = {"PATH": f"{VENV / 'bin'}:{os.environ['PATH']}", "JAVA_HOME": JAVA_HOME, "SPARK_HOME": str(home),
            "HOME": str(work), "JAVA_TOOL_OPTIONS": f"-Djdk.net.hosts.file={hosts}"}  # cluster DNS

    def pod(workload, address, name):
        local = LocalPod(templates[workload], address, objects, work / name, {"spark-shared": shared},
                         {"/opt/spark": str(home)}, hosts=hosts)
        conf = local.local("/opt/spark/conf/spark-defaults.conf", local.container())
        # The UIs bind every interface of the pod (SPARK_LOCAL_IP unset in the master): here the pod's address.
        env = {**base, "SPARK_CONF_DIR": str(Path(conf).parent), "SPARK_LOCAL_IP": address}
        return local, env

    procs = []

    def start(workload, address, name, drop=(), argv=None, env_override=None):  # pylint: disable=too-many-arguments
        local, env = pod(workload, address, name)
        container = local.container()
        if argv is not None:
            container = {**container, "command": argv, "args": []}
        if env_override:
            container = {**container, "env": [e for e in container["env"] if e["name"] not in env_override]
                         + [{"name": k, "value": v} for k, v in env_override.items()]}
        procs.append(local.start(container, env, auth, work / f"{name}.log", drop))
        return procs[-1]

    try:
        start("spark-master", ADDRESSES["spark-master"], "master")
        assert wait_for(lambda: http(f"http://{ADDRESSES['spark-master']}:8080/json/")[0] == 200), \
            (work / "master.log").read_text()[-3000:]
        for index, address in enumerate(ADDRESSES["spark-worker"]):
            start("spark-worker", address, f"worker-{index}")
        assert wait_for(lambda: len(alive_workers()) == 2), (work / "worker-0.log").read_text()[-3000:]
        yield {"work": work, "shared": shared, "start": start}
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def master_state():
    return json.loads(http(f"http://{ADDRESSES['spark-master']}:8080/json/")[1])


def alive_workers():
    return sorted(w["host"] for w in master_state()["workers"] if w["state"] == "ALIVE")


def test_pyspark_and_mlflow_are_the_images(objects):
    image = by_kind(objects, "Deployment", "spark-master")["spec"]["template"]["spec"]["containers"][0]["image"]
    driver_image = (ROOT / "files/images/spark/requirements.txt").read_text()
    assert (VENV / ".requirements.txt").read_text() == f"pyspark=={image.rsplit(':', 1)[1]}\n{driver_image}".strip()
    assert f"FROM docker.io/apache/spark:{image.rsplit(':', 1)[1]}\n" in (ROOT / "files/images/spark/Dockerfile").read_text()


def test_workers_register_with_the_shared_secret(cluster):
    state = master_state()
    assert state["status"] == "ALIVE"
    assert alive_workers() == ADDRESSES["spark-worker"]


def test_example_driver_executors_write_the_shared_volume_the_driver_reads_back(cluster, objects):
    """The example Job's command as rendered: executors (in the workers) write one part each to the shared claim,
    the driver (its pod IP as spark.driver.host) reads every part back from its own mount."""
    proc = cluster["start"]("spark-example", ADDRESSES["spark-example"], "example")
    assert proc.wait(timeout=240) == 0, (cluster["work"] / "example.log").read_text()[-4000:]
    summary = json.loads(next(line for line in (cluster["work"] / "example.log").read_text().splitlines()[::-1]
                              if line.startswith("{")))
    assert summary["rows_read"] == 1000 and summary["sum_read"] == sum(range(1000))
    assert Path(summary["dir"]).parent.parent == cluster["shared"], "the parts are on the shared claim"
    assert {w["part"] for w in summary["written"]} == {0, 1, 2, 3}
    assert summary["driver_pid"] not in {w["pid"] for w in summary["written"]}, "executors wrote the parts"
    app = next(a for a in master_state()["completedapps"] if a["id"] == summary["app_id"])
    assert app["name"] == "shared-volume-roundtrip" and app["state"] == "FINISHED"
    job = by_kind(objects, "Job", "spark-example")["spec"]["template"]["spec"]["containers"][0]
    assert job["args"][-1] == by_kind(objects, "Deployment", "spark-worker")["spec"]["template"]["spec"][
        "containers"][0]["volumeMounts"][0]["mountPath"], "the driver is given the workers' mount path"


def test_a_driver_without_the_secret_is_refused(cluster):
    proc = cluster["start"]("spark-example", ADDRESSES["spark-example"], "no-secret", drop=("_SPARK_AUTH_SECRET",))
    log = cluster["work"] / "no-secret.log"
    assert wait_for(lambda: "Exception while bootstrapping client" in log.read_text() or proc.poll() is not None, 120)
    proc.kill()
    proc.wait()
    assert "Exception while bootstrapping client" in log.read_text(), log.read_text()[-3000:]
    assert not [a for a in master_state()["activeapps"] + master_state()["completedapps"]
                if a["name"] == "shared-volume-roundtrip" and a["state"] != "FINISHED"]
    assert len(alive_workers()) == 2


def samples(body):
    """{series: value} of a Prometheus text exposition."""
    found = {}
    for line in body.splitlines():
        match = SAMPLE.match(line)
        if match:
            found[match["series"]] = float(match["value"])
    return found


def test_prometheus_paths_answer_and_kill_links_are_off(cluster, objects):
    """The paths the ServiceMonitor and PodMonitor scrape answer with the series of master, workers, and a running
    driver and its executors; the master UI's kill request (spark.ui.killEnabled=false) leaves the application
    running."""
    proc = cluster["start"]("spark-example", ADDRESSES["spark-example"], "held", argv=[
        str(VENV / "bin/python"), "-c", HELD_DRIVER])
    log = cluster["work"] / "held.log"
    try:
        assert wait_for(lambda: "app-" in log.read_text() or proc.poll() is not None, 120), log.read_text()[-3000:]
        app_id = next(w for w in log.read_text().split() if w.startswith("app-"))
        service = next(o for o in objects if o["kind"] == "ServiceMonitor")["spec"]["endpoints"]
        pods = next(o for o in objects if o["kind"] == "PodMonitor")["spec"]["podMetricsEndpoints"]
        master, worker, driver = ADDRESSES["spark-master"], ADDRESSES["spark-worker"][0], ADDRESSES["spark-example"]
        scraped = {f"{master}:8080{e['path']}": samples(http(f"http://{master}:8080{e['path']}")[1]) for e in service}
        scraped |= {f"{host}{e['path']}": samples(http(f"http://{host}{e['path']}")[1])
                    for e in pods for host in (f"{worker}:8081", f"{driver}:4040")}
        assert scraped[f"{master}:8080/metrics/master/prometheus"]['metrics_master_aliveWorkers_Number{type="gauges"}'] == 2
        assert [s for s in scraped[f"{master}:8080/metrics/applications/prometheus"] if "held_driver" in s]
        assert 'metrics_worker_coresUsed_Number{type="gauges"}' in scraped[f"{worker}:8081/metrics/prometheus"]
        assert [s for s in scraped[f"{driver}:4040/metrics/prometheus"] if f"{app_id.replace('-', '_')}_driver" in s]
        executors = [s for s in scraped[f"{driver}:4040/metrics/executors/prometheus"]
                     if s.startswith("metrics_executor_totalCores") and 'executor_id="driver"' not in s]
        assert len(executors) == 2, "one executor per worker"

        http(f"http://{master}:8080/app/kill/?id={app_id}&terminate=true", "POST")
        time.sleep(5)
        assert [a["state"] for a in master_state()["activeapps"] if a["id"] == app_id] == ["RUNNING"]
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture()
def mlflow_service(mlflow_server):
    """MLflow's Service (port 443) at the address the drivers resolve it to: a relay to the smoke server."""
    port = urlparse(mlflow_server["url"]).port
    relay = subprocess.Popen(["socat", f"TCP-LISTEN:443,bind={MLFLOW_ADDRESS},reuseaddr,fork", f"TCP:127.0.0.1:{port}"])
    assert wait_for(lambda: listening(MLFLOW_ADDRESS, 443), 20)
    yield mlflow_server
    relay.terminate()
    relay.wait()


def listening(host, port):
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def test_ml_example_logs_a_spark_ml_model_to_mlflow_through_the_shared_claim(cluster, objects, mlflow_service,
                                                                              mlflow_pki):
    """The MLflow example Job as rendered, with the driver image's MLflow: the executors fit the pipeline and save it
    into MLFLOW_DFS_TMP on the shared claim, the driver logs it to MLflow (TLS to the Service's name, as the service
    user spark) and registers it as candidate, then loads it back through the claim and predicts."""
    driver = by_kind(objects, "Job", "spark-ml-example")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in driver["env"]}
    assert env["MLFLOW_TRACKING_URI"] == "https://mlflow.mlflow.svc", "the MLflow Service's name, port 443"
    proc = cluster["start"]("spark-ml-example", ADDRESSES["spark-ml-example"], "ml-example")
    log = cluster["work"] / "ml-example.log"
    assert proc.wait(timeout=300) == 0, log.read_text()[-5000:]
    summary = json.loads(next(line for line in log.read_text().splitlines()[::-1] if line.startswith("{")))
    assert [round(p, 6) for p in summary["predicted"]] == [21.0, -5.0]
    app = next(a for a in master_state()["completedapps"] if a["id"] == summary["app_id"])
    assert app["name"] == "spark-ml-mlflow" and app["state"] == "FINISHED", "it ran on the workers"

    api = mlflow_service["url"] + "/api/2.0/mlflow"
    status, body = request(mlflow_pki, f"{api}/registered-models/alias?name=spark-example&alias=candidate",
                           auth=(SPARK_USER["username"], SPARK_USER["password"]))
    assert status == 200, body
    version = json.loads(body)["model_version"]
    assert version["run_id"] == summary["run_id"] and version["status"] == "READY"
    status, body = request(mlflow_pki, f"{api}/runs/get?run_id={summary['run_id']}",
                           auth=(SPARK_USER["username"], SPARK_USER["password"]))
    run = json.loads(body)["run"]
    assert run["info"]["user_id"] == SPARK_USER["username"] and run["info"]["status"] == "FINISHED"
    assert [m["key"] for m in run["data"]["metrics"]] == ["rmse"]
    shared = next(m["mountPath"] for m in driver["volumeMounts"] if m["name"] == "shared")
    staging = cluster["shared"] / Path(env["MLFLOW_DFS_TMP"]).relative_to(shared)
    assert staging.is_dir() and not list(staging.iterdir()), "staged on the claim, and cleaned up after"


def test_ml_example_fails_when_models_pass_through_a_pods_own_tmp(cluster, objects, mlflow_service):
    """Why the chart sets MLFLOW_DFS_TMP on the claim: with MLflow's default (/tmp/mlflow, every pod's own) the
    executors' parts of the model never reach the driver, and the model cannot be read back."""
    driver = by_kind(objects, "Job", "spark-ml-example")["spec"]["template"]["spec"]["containers"][0]
    proc = cluster["start"]("spark-ml-example", ADDRESSES["spark-ml-example"], "ml-example-tmp",
                            argv=[*driver["command"], *driver["args"], "--model", "spark-example-tmp"],
                            env_override={"MLFLOW_DFS_TMP": "/tmp/mlflow"})
    log = cluster["work"] / "ml-example-tmp.log"
    assert proc.wait(timeout=300) != 0
    assert "ValueError: RDD is empty" in log.read_text(), log.read_text()[-5000:]
