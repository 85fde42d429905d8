"""The MLflow chart's own scripts and settings, run outside Kubernetes against real services.

PostgreSQL (Debian package) with TLS, moto as the S3 endpoint, and the MLflow packages of the server image
(files/images/mlflow/requirements.txt, venv made by scripts/test-deps). The init container's and the server's
commands and environment are read from `helm template` of charts/mlflow; only paths, ports and secrets change.
"""

import glob
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import ssl
import tempfile
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

HELM = Path.home() / ".cache/mlops-platform/sim/bin/helm"
VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mlops-platform/mlflow-smoke-venv"
ADMIN_PASSWORD = "Adm1nPasswordForTheSmokeTest"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(args):
    """PostgreSQL refuses to run as root: drop to the postgres user when the tests run as root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def wait_for(check, seconds=90):
    for _ in range(seconds):
        if check():
            return True
        time.sleep(1)
    return False


@pytest.fixture(scope="module")
def work():
    """A scratch folder the postgres user can reach (pytest's own tmp folders are private to the test user)."""
    path = Path(tempfile.mkdtemp(prefix="mlflow-smoke-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def pki(work):
    """A CA and a localhost server certificate, as cert-manager would issue from the platform CA."""
    def ssl_cmd(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=work)
    ssl_cmd("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.crt", "-days", "1", "-subj", "/CN=smoke CA")
    ssl_cmd("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tls.key",
            "-out", "tls.csr", "-subj", "/CN=localhost")
    (work / "san.ext").write_text("subjectAltName=DNS:localhost\n")
    ssl_cmd("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tls.crt",
            "-days", "1", "-extfile", "san.ext")
    return work


@pytest.fixture(scope="module")
def postgres(work, pki):
    """A PostgreSQL server that accepts only TLS password logins, with the tracking and auth databases."""
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
    pgdir = work / "pg"
    pgdir.mkdir()
    for name in ("tls.crt", "tls.key"):
        shutil.copy(pki / name, pgdir / name)
    (pgdir / "tls.key").chmod(0o600)
    (pgdir / "pw").write_text("dbSecret123\n")
    if os.geteuid() == 0:
        shutil.chown(pgdir, "postgres")
        for item in pgdir.iterdir():
            shutil.chown(item, "postgres")
    port = free_port()
    subprocess.run(as_postgres([bindir / "initdb", "-D", pgdir / "data", "-U", "mlflow", "--auth=scram-sha-256",
                                f"--pwfile={pgdir / 'pw'}"]), check=True, capture_output=True)
    (pgdir / "data" / "pg_hba.conf").write_text("hostssl all all 127.0.0.1/32 scram-sha-256\n")
    options = (f"-k {pgdir} -p {port} -h 127.0.0.1 -c ssl=on -c ssl_cert_file={pgdir / 'tls.crt'} "
               f"-c ssl_key_file={pgdir / 'tls.key'}")
    subprocess.run(as_postgres([bindir / "pg_ctl", "-D", pgdir / "data", "-l", pgdir / "log", "-o", options, "-w",
                                "start"]), check=True, capture_output=True)
    psql = ["psql", f"host=localhost port={port} user=mlflow dbname=postgres sslmode=verify-full "
                    f"sslrootcert={pki / 'ca.crt'}"]
    for database in ("mlflow", "mlflow_auth"):
        subprocess.run([*psql, "-c", f"CREATE DATABASE {database}"], check=True, capture_output=True,
                       env={**os.environ, "PGPASSWORD": "dbSecret123"})
    yield port
    subprocess.run(as_postgres([bindir / "pg_ctl", "-D", pgdir / "data", "-m", "fast", "stop"]), check=False)


@pytest.fixture(scope="module")
def s3(work):
    """moto's S3 server, with the artifact bucket the chart's init container would create."""
    port = free_port()
    proc = subprocess.Popen([VENV / "bin/moto_server", "-p", str(port)], stdout=open(work / "moto.log", "w"),
                            stderr=subprocess.STDOUT)
    assert wait_for(lambda: subprocess.run(["curl", "-sf", f"http://localhost:{port}/"], capture_output=True).returncode == 0)
    yield f"http://localhost:{port}"
    proc.terminate()


@pytest.fixture(scope="module")
def chart(work):
    """The rendered chart: its scripts written to disk, and the server Deployment."""
    rendered = subprocess.run([HELM, "template", "mlflow", ROOT / "charts/mlflow", "--namespace", "mlflow"],
                              check=True, capture_output=True, text=True).stdout
    objects = [o for o in yaml.safe_load_all(rendered) if o]
    scripts = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "mlflow-scripts")
    scripts_dir = work / "scripts"
    scripts_dir.mkdir()
    for name, text in scripts["data"].items():
        (scripts_dir / name).write_text(text)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    return scripts_dir, deployment["spec"]["template"]["spec"]


def container_env(container, secrets, overrides):
    """The container's environment as Kubernetes would build it: literal values, Secret keys, $(VAR) references."""
    env = {"PATH": f"{VENV / 'bin'}:{os.environ['PATH']}"}
    for item in container["env"]:
        if "value" in item:
            value = item["value"]
            for name, known in env.items():
                value = value.replace(f"$({name})", known)
            env[item["name"]] = value
        elif "secretKeyRef" in item["valueFrom"]:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[ref["name"]][ref["key"]]
        else:
            env[item["name"]] = overrides.pop(item["name"])
    env.update(overrides)
    return env


def local_command(container, scripts_dir):
    """The container's command, with the scripts' mount path pointing at the rendered scripts."""
    return [part.replace("/opt/mlflow/scripts", str(scripts_dir)) for part in container["command"]]


@pytest.fixture(scope="module")
def server(work, pki, postgres, s3, chart):
    scripts_dir, pod = chart
    secrets = {
        "mlflow-admin": {"username": "admin", "password": ADMIN_PASSWORD, "flaskSecretKey": "f1askKeyForTheSmokeTest"},
        "mlflow-postgresql": {"username": "mlflow", "password": "dbSecret123"},
        "mlflow-object-store": {"accessKey": "smoke", "secretKey": "smokeSecret"},
    }
    port = free_port()
    paths = {"SCRIPTS_DIR": str(scripts_dir), "HOME": str(work), "CA_FILE": str(pki / "ca.crt"),
             "DB_HOST": "localhost", "DB_PORT": str(postgres)}

    init = next(c for c in pod["initContainers"] if c["name"] == "db-upgrade")
    upgrade = subprocess.run(local_command(init, scripts_dir), env=container_env(init, secrets, dict(paths)),
                             capture_output=True, text=True, check=False)
    assert upgrade.returncode == 0, upgrade.stderr

    main = pod["containers"][0]
    env = container_env(main, secrets, {**paths, "POD_IP": "127.0.0.1", "MLFLOW_AUTH_CONFIG_PATH": str(work / "auth.ini"),
                                         "METRICS_DIR": str(work / "metrics"), "TLS_DIR": str(pki), "PORT": str(port),
                                         "MLFLOW_S3_ENDPOINT_URL": s3})
    env["ALLOWED_HOSTS"] += f",localhost:{port}"
    env.pop("AWS_CA_BUNDLE")  # moto speaks plain HTTP here
    subprocess.run([VENV / "bin/python", "-c", "import boto3; boto3.client('s3', endpoint_url='%s', region_name='us-east-1',"
                    " aws_access_key_id='smoke', aws_secret_access_key='smokeSecret').create_bucket(Bucket='%s')"
                    % (s3, env["ARTIFACT_BUCKET"])], check=True)
    proc = subprocess.Popen(local_command(main, scripts_dir), env=env, stdout=open(work / "server.log", "w"),
                            stderr=subprocess.STDOUT)
    url = f"https://localhost:{port}"
    assert wait_for(lambda: request(pki, url + "/health")[0] == 200), (work / "server.log").read_text()[-3000:]
    yield {"url": url, "env": env, "upgrade": (init, secrets, paths)}
    proc.terminate()
    proc.wait(30)


def request(pki, url, auth=None, host=None):
    req = urllib.request.Request(url)
    if auth:
        import base64  # pylint: disable=import-outside-toplevel
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    if host:
        req.add_header("Host", host)
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    try:
        with urllib.request.urlopen(req, context=context, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return 0, ""


CLIENT = """
import json, os, sys, tempfile
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("smoke")
with mlflow.start_run() as run:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_metric("rmse", 0.25)
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "weights.txt"), "w") as out:
        out.write("trained weights")
    mlflow.log_artifact(os.path.join(folder, "weights.txt"), artifact_path="model")
client = MlflowClient()
client.create_registered_model("smoke-model")
version = client.create_model_version("smoke-model", run.info.artifact_uri + "/model", run_id=run.info.run_id)
read = client.get_model_version("smoke-model", version.version)
fetched = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="model/weights.txt")
print(json.dumps({"run": run.info.run_id, "artifact_uri": run.info.artifact_uri,
                  "metrics": client.get_run(run.info.run_id).data.metrics,
                  "version": read.version, "source": read.source, "status": read.status,
                  "artifact": open(fetched).read()}))
"""


def test_server_requires_credentials_and_a_known_host(server, pki):
    search = server["url"] + "/api/2.0/mlflow/experiments/search?max_results=1"
    assert request(pki, search)[0] == 401
    assert request(pki, search, auth=("admin", "wrong-password"))[0] == 401
    assert request(pki, search, auth=("admin", ADMIN_PASSWORD))[0] == 200
    assert request(pki, search, auth=("admin", ADMIN_PASSWORD), host="attacker.example")[0] == 403


def test_log_a_run_register_a_model_and_read_them_back(server, pki, s3, work):
    env = {"PATH": os.environ["PATH"], "HOME": str(work), "MLFLOW_TRACKING_USERNAME": "admin",
           "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD, "MLFLOW_TRACKING_SERVER_CERT_PATH": str(pki / "ca.crt")}
    result = subprocess.run([VENV / "bin/python", "-c", CLIENT, server["url"]], env=env, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["metrics"] == {"rmse": 0.25}
    assert out["version"] == "1" and out["status"] == "READY" and out["source"].endswith("/model")
    assert out["artifact"] == "trained weights"
    assert out["artifact_uri"].startswith("mlflow-artifacts:/"), "artifacts are proxied by the server"

    listing = subprocess.run(
        [VENV / "bin/python", "-c", "import boto3, json; print(json.dumps([o['Key'] for o in boto3.client('s3', "
         f"endpoint_url='{s3}', region_name='us-east-1', aws_access_key_id='smoke', aws_secret_access_key='smokeSecret')"
         f".list_objects_v2(Bucket='{server['env']['ARTIFACT_BUCKET']}')['Contents']]))"],
        check=True, capture_output=True, text=True).stdout
    assert any(key.endswith(f"{out['run']}/artifacts/model/weights.txt") for key in json.loads(listing))


def test_schema_upgrade_runs_again_on_an_existing_database(server, chart):
    scripts_dir, pod = chart
    init, secrets, paths = server["upgrade"]
    again = subprocess.run(local_command(init, scripts_dir), env=container_env(init, secrets, dict(paths)),
                           capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
