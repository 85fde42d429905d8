"""The MLflow chart's own scripts and settings, run outside Kubernetes against real services (tests/mlflow_local.py)."""

import json
import os
import re
import subprocess

from mlflow_local import (ADMIN_PASSWORD, SERVICE_USER, SPARK_USER, VENV, bucket_keys, container_env, free_port,
                          local_command, mlflow_chart_objects, not_after, projected_secrets, renew, request,
                          served_certificate, wait_for)
from paths import ROOT
from processes import command_lines, process_tree


CLIENT = """
import json, os, sys, tempfile
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(sys.argv[1])
experiment, model = sys.argv[2:4] if len(sys.argv) > 3 else ("smoke", "smoke-model")
mlflow.set_experiment(experiment)
with mlflow.start_run() as run:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_metric("rmse", 0.25)
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "weights.txt"), "w") as out:
        out.write("trained weights")
    mlflow.log_artifact(os.path.join(folder, "weights.txt"), artifact_path="model")
client = MlflowClient()
client.create_registered_model(model)
version = client.create_model_version(model, run.info.artifact_uri + "/model", run_id=run.info.run_id)
read = client.get_model_version(model, version.version)
fetched = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="model/weights.txt")
print(json.dumps({"run": run.info.run_id, "artifact_uri": run.info.artifact_uri,
                  "metrics": client.get_run(run.info.run_id).data.metrics,
                  "version": read.version, "source": read.source, "status": read.status,
                  "artifact": open(fetched).read()}))
"""


def test_server_requires_credentials_and_a_known_host(mlflow_server, mlflow_pki):
    search = mlflow_server["url"] + "/api/2.0/mlflow/experiments/search?max_results=1"
    assert request(mlflow_pki, search)[0] == 401
    assert request(mlflow_pki, search, auth=("admin", "wrong-password"))[0] == 401
    assert request(mlflow_pki, search, auth=("admin", ADMIN_PASSWORD))[0] == 200
    assert request(mlflow_pki, search, auth=("admin", ADMIN_PASSWORD), host="attacker.example")[0] == 403


def expiry_served(pki, url):
    """The sidecar's gauge of the served certificate's notAfter (None without a sample)."""
    found = re.search(r"^mlflow_tls_served_certificate_expiry_timestamp_seconds (\S+)$", request(pki, url)[1], re.M)
    return float(found[1]) if found else None


def test_metrics_sidecar_and_renewed_certificates(mlflow_server, mlflow_pki, mlflow_chart, tmp_path):
    """MLflow's basic-auth app admits only its admin to /metrics (so Prometheus once held the admin password): the
    rendered sidecar serves the server's metrics over TLS on its own port, which the ServiceMonitor scrapes with no
    credential, and the expiry of the certificate the server serves. A renewed certificate (files swapped as the
    kubelet does) is then served by the server, restarted in place by its script, and by the sidecar."""
    scripts_dir, pod = mlflow_chart
    sidecar = next(c for c in pod["containers"] if c["name"] == "metrics")
    port = free_port()
    env = container_env(sidecar, {}, {"METRICS_DIR": mlflow_server["env"]["METRICS_DIR"], "TLS_DIR": str(mlflow_pki),
                                      "METRICS_PORT": str(port), "HOST": "127.0.0.1", "TLS_CHECK_SECONDS": "2",
                                      "SERVER_PORT": mlflow_server["env"]["PORT"], "CA_FILE": str(mlflow_pki / "ca.crt")})
    proc = subprocess.Popen(local_command(sidecar, scripts_dir), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    metrics = f"https://localhost:{port}/metrics"
    try:
        search = mlflow_server["url"] + "/api/2.0/mlflow/experiments/search?max_results=1"
        assert request(mlflow_pki, search, auth=("admin", ADMIN_PASSWORD))[0] == 200, "a request to count"
        assert request(mlflow_pki, mlflow_server["url"] + "/metrics")[0] == 401, "the API port wants a credential"
        monitor = mlflow_chart_objects("ServiceMonitor")[0]["spec"]["endpoints"]
        assert [(e["port"], e["scheme"], e["path"], "basicAuth" in e) for e in monitor] == [
            ("metrics", "https", "/metrics", False)]
        assert wait_for(lambda: request(mlflow_pki, metrics)[0] == 200, 30), \
            proc.stderr.read() if proc.poll() is not None else "no answer"
        body = request(mlflow_pki, metrics)[1]
        assert re.search(r'^mlflow_http_request_total\{[^}]*status="200"[^}]*\} [1-9]', body, re.M), body[:2000]
        exposed = {line.split("{")[0].split(" ")[0] for line in body.splitlines() if line and line[0] != "#"}
        dashboard = (ROOT / "charts/platform-observability/dashboards/mlflow.json").read_text()
        queried = set(re.findall(r"\b(?:mlflow|flask)_[a-z_]+", dashboard))
        assert queried and queried <= exposed, f"the MLflow dashboard queries {queried - exposed}, never exposed"
        assert expiry_served(mlflow_pki, metrics) == not_after(mlflow_pki / "tls.crt")

        server_port = int(mlflow_server["env"]["PORT"])
        before = served_certificate(mlflow_pki, server_port)
        renewed = renew(mlflow_pki, mlflow_pki, tmp_path / "renewed")
        assert renewed[0] != before[0]
        assert wait_for(lambda: served_certificate(mlflow_pki, server_port) == renewed, 60), "the server serves it"
        assert wait_for(lambda: served_certificate(mlflow_pki, port) == renewed, 30), "the sidecar serves it"
        assert os.path.exists(f"/proc/{mlflow_server['pid']}"), "restarted in place, not by the kubelet"
        assert wait_for(lambda: request(mlflow_pki, search, auth=("admin", ADMIN_PASSWORD))[0] == 200, 60)
        assert wait_for(lambda: expiry_served(mlflow_pki, metrics) == not_after(tmp_path / "renewed/tls.crt"), 30)
    finally:
        proc.terminate()
        proc.wait(10)


def test_postgresql_serves_a_renewed_certificate_once_its_reload_sidecar_sees_it(mlflow_postgres, mlflow_pki, tmp_path):
    """PostgreSQL reads its certificate at start and on a reload: the rendered tls-reload sidecar, run against the
    local server, reloads it when the certificate's files are swapped, and stops at once on SIGTERM."""
    database = next(o for o in mlflow_chart_objects("StatefulSet") if o["metadata"]["name"] == "mlflow-postgresql")
    sidecar = next(c for c in database["spec"]["template"]["spec"]["containers"] if c["name"] == "tls-reload")
    tls_dir, port = mlflow_postgres["tls_dir"], mlflow_postgres["port"]
    mount = next(m["mountPath"] for m in sidecar["volumeMounts"] if m["name"] == "tls")
    secrets = {"mlflow-postgresql": {"username": "mlflow", "password": "dbSecret123"}}
    env = container_env(sidecar, secrets, {"PGPORT": str(port), "TLS_CHECK_SECONDS": "1", "TMPDIR": str(tmp_path)})
    env["TLS_CERT"] = env["TLS_CERT"].replace(mount, str(tls_dir))
    before = served_certificate(mlflow_pki, port, starttls_postgres=True)
    proc = subprocess.Popen(sidecar["command"] + sidecar["args"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        assert wait_for(lambda: (tmp_path / "tls-reload.alive").exists(), 10), "the liveness file"
        renewed = renew(mlflow_pki, tls_dir, tmp_path / "renewed")
        assert renewed[0] != before[0]
        assert wait_for(lambda: served_certificate(mlflow_pki, port, starttls_postgres=True) == renewed, 30)
    finally:
        proc.terminate()
        assert proc.wait(5) == 0, "SIGTERM ends it at once"
    assert "reloaded its renewed certificate" in proc.stdout.read()


def log_and_register(server, pki, work, user, password, *names):
    """CLIENT as that user: a run with a parameter, a metric and an artifact, registered as a model version."""
    env = {"PATH": os.environ["PATH"], "HOME": str(work), "MLFLOW_TRACKING_USERNAME": user,
           "MLFLOW_TRACKING_PASSWORD": password, "MLFLOW_TRACKING_SERVER_CERT_PATH": str(pki / "ca.crt")}
    result = subprocess.run([VENV / "bin/python", "-c", CLIENT, server["url"], *names], env=env, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_log_a_run_register_a_model_and_read_them_back(mlflow_server, mlflow_pki, mlflow_s3, mlflow_work):
    out = log_and_register(mlflow_server, mlflow_pki, mlflow_work, "admin", ADMIN_PASSWORD)
    assert out["metrics"] == {"rmse": 0.25}
    assert out["version"] == "1" and out["status"] == "READY" and out["source"].endswith("/model")
    assert out["artifact"] == "trained weights"
    assert out["artifact_uri"].startswith("mlflow-artifacts:/"), "artifacts are proxied by the server"

    assert any(key.endswith(f"{out['run']}/artifacts/model/weights.txt") for key in bucket_keys(mlflow_s3, mlflow_server["env"]["ARTIFACT_BUCKET"]))


def test_schema_upgrade_runs_again_on_an_existing_database(mlflow_server, mlflow_chart):
    scripts_dir, _ = mlflow_chart
    init, secrets, paths = mlflow_server["upgrade"]
    again = subprocess.run(local_command(init, scripts_dir), env=container_env(init, secrets, dict(paths)),
                           capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr


def test_no_secret_on_any_command_line(mlflow_server, mlflow_chart):
    """Command lines are world-readable (/proc, ps): the migration, the server and its workers take every secret
    from their environment (the object store init: the next test)."""
    scripts_dir, pod = mlflow_chart
    init, secrets, paths = mlflow_server["upgrade"]
    values = [v for secret in secrets.values() for k, v in secret.items() if k not in ("username", "accessKey")]
    proc = subprocess.Popen(local_command(init, scripts_dir), env=container_env(init, secrets, dict(paths)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = []
    while proc.poll() is None:  # the migration runs for seconds: its command line is read many times
        seen += command_lines(process_tree(proc.pid))
    assert proc.returncode == 0, proc.stderr.read()
    assert any("db upgrade" in line for line in seen), "the migration's command line was read"
    seen += command_lines(process_tree(mlflow_server["pid"]))
    assert any("mlflow server" in line for line in seen)
    assert not [line for line in seen for value in values if value in line]


# A stand-in for mc (the MinIO client image is not run here): records each call's command line, standard input and
# MC_HOST_store; `admin policy attach` runs the Python in MC_ATTACHED (an answer of MinIO's) when it is set.
FAKE_MC = """#!/usr/bin/env python3
import json, os, sys
argv = sys.argv[1:]
with open(os.environ["MC_CALLS"], "a") as out:
    out.write(json.dumps({"argv": argv, "stdin": sys.stdin.read(), "host": os.environ["MC_HOST_store"]}) + "\\n")
if argv[2:5] == ["admin", "policy", "attach"] and os.environ.get("MC_ATTACHED"):
    exec(os.environ["MC_ATTACHED"])
"""


def test_object_store_init_makes_the_bucket_and_a_read_only_user_with_no_secret_on_a_command_line(
        mlflow_chart, mlflow_server, tmp_path):
    """object-store.sh as the role renders its init container: the root credential reaches mc only through
    MC_HOST_store, the reader's secret key only on standard input; the user gets the chart's read policy; a second
    start (policy already attached) succeeds, any other attach failure fails the start."""
    scripts_dir, pod = mlflow_chart
    init = next(c for c in pod["initContainers"] if c["name"] == "object-store")
    secrets = mlflow_server["upgrade"][1]
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/mc").write_text(FAKE_MC)
    (tmp_path / "bin/mc").chmod(0o755)
    readers = projected_secrets(pod, "readers", secrets, tmp_path / "readers")
    env = container_env(init, secrets, {"READERS_DIR": str(readers), "MC_CALLS": str(tmp_path / "calls"),
                                        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"})
    env["READ_POLICY_FILE"] = env["READ_POLICY_FILE"].replace("/opt/mlflow/scripts", str(scripts_dir))

    def start(attached=""):
        (tmp_path / "calls").write_text("")
        done = subprocess.run(local_command(init, scripts_dir), env={**env, "MC_ATTACHED": attached},
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        return done, [json.loads(line) for line in (tmp_path / "calls").read_text().splitlines()]

    done, calls = start()
    assert done.returncode == 0, done.stderr
    assert [c["argv"][2:] for c in calls] == [
        ["mb", "--ignore-existing", "store/mlflow"],
        ["admin", "policy", "create", "store", "mlflow-read", env["READ_POLICY_FILE"]],
        ["admin", "user", "add", "store", "mlflow-reader"],
        ["admin", "policy", "attach", "store", "mlflow-read", "--user", "mlflow-reader"]]
    assert calls[2]["stdin"] == "readerSecret" and not [c for c in calls if c is not calls[2] and c["stdin"]]
    assert {c["host"] for c in calls} == {"https://smoke:smokeSecret@mlflow-minio.mlflow.svc:9000"}
    assert not [c for c in calls for secret in ("smokeSecret", "readerSecret") if secret in " ".join(c["argv"])]
    policy = json.loads((scripts_dir / "mlflow-read.json").read_text())
    assert sorted(a for statement in policy["Statement"] for a in statement["Action"]) == [
        "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"], "read only (tests/platform/test_model_storage.py runs it)"

    already = "sys.exit('mc: <ERROR> Unable to attach. The specified policy change is already in effect.')"
    assert start(already)[0].returncode == 0, "a second start finds the policy attached"
    refused = start("sys.exit('mc: <ERROR> Unable to attach. Access Denied.')")[0]
    assert refused.returncode != 0 and "Access Denied" in refused.stderr


def test_service_user_from_its_secret_logs_and_registers_but_is_no_admin(mlflow_server, mlflow_pki, mlflow_work):
    """The role's default service user (mlflow_service_users: training), made by users.py from the mounted Secret
    before the server started: it logs and registers its own model; admin-only calls are refused."""
    user = (SERVICE_USER["username"], SERVICE_USER["password"])
    out = log_and_register(mlflow_server, mlflow_pki, mlflow_work, *user, "ddp-example", "ddp-model")
    assert out["metrics"] == {"rmse": 0.25} and out["status"] == "READY"
    api = mlflow_server["url"] + "/api/2.0/mlflow"
    status, _ = request(mlflow_pki, api + "/users/create", auth=user,
                        body={"username": "intruder", "password": "Intruder1PasswordLong"})
    assert status == 403, "only an admin makes users"
    status, _ = request(mlflow_pki, api + "/users/update-admin", auth=user, body={"username": user[0], "is_admin": True},
                        method="PATCH")
    assert status == 403, "a service user cannot make itself an admin"
    status, _ = request(mlflow_pki, api + "/experiments/delete", auth=user, body={"experiment_id": "0"})
    assert status == 403, "READ (the chart's defaultPermission) on what others made"
    assert request(mlflow_pki, api + "/experiments/get?experiment_id=0", auth=user)[0] == 200


def test_users_script_sets_a_changed_password_and_refuses_an_admin(mlflow_server, mlflow_pki, mlflow_chart, tmp_path):
    """What the server's start does with the users' Secrets: a rotated password replaces the old one; a Secret naming
    the admin fails the start and leaves the admin alone."""
    scripts_dir, pod = mlflow_chart
    env = dict(mlflow_server["env"])
    url = mlflow_server["url"] + "/api/2.0/mlflow/experiments/get?experiment_id=0"

    def users(training):
        # Every Secret the projected volume names must exist; only the training user's changes here.
        secrets = {SPARK_USER["secret"]: {"username": SPARK_USER["username"], "password": SPARK_USER["password"]},
                   SERVICE_USER["secret"]: training}
        env["USERS_DIR"] = str(projected_secrets(pod, "users", secrets, tmp_path / str(len(list(tmp_path.iterdir())))))
        # As server.sh runs it: after env.sh (the database password in PGPASSWORD) and the auth config it wrote.
        return subprocess.run(["sh", "-c", '. "$SCRIPTS_DIR/env.sh" && exec python "$SCRIPTS_DIR/users.py"'], env=env,
                              capture_output=True, text=True, check=False)

    rotated = "Rotated1PasswordForTheSmokeTest"
    result = users({"username": SERVICE_USER["username"], "password": rotated})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "set the password of training" in result.stdout
    assert request(mlflow_pki, url, auth=(SERVICE_USER["username"], rotated))[0] == 200
    assert request(mlflow_pki, url, auth=(SERVICE_USER["username"], SERVICE_USER["password"]))[0] == 401

    result = users({"username": "admin", "password": "Another1PasswordForTheAdmin"})
    assert result.returncode != 0 and "is an admin" in result.stderr
    assert request(mlflow_pki, url, auth=("admin", ADMIN_PASSWORD))[0] == 200, "the admin's password is unchanged"

    result = users({"username": SERVICE_USER["username"], "password": SERVICE_USER["password"]})
    assert result.returncode == 0 and "set the password" in result.stdout, "back to the fixture's password"
