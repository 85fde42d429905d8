"""A real MLflow tracking server as the chart runs it, outside Kubernetes, shared by the tests that need one.

PostgreSQL (Debian package) with TLS, moto as the S3 endpoint, and the MLflow packages of the server image
(files/images/mlflow/requirements.txt, venv made by scripts/test-deps). The init container's and the server's
commands and environment are read from the release the role renders (playbooks/images.yml); only paths, ports and
secrets change.
"""

import functools
import glob
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from paths import CACHE, ROOT

VENV = CACHE / "mlflow-smoke-venv"
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


@pytest.fixture(scope="session")
def mlflow_work():
    """A scratch folder the postgres user can reach (pytest's own tmp folders are private to the test user)."""
    path = Path(tempfile.mkdtemp(prefix="mlflow-smoke-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def issue_certificate(pki, folder, days=1, names=("localhost",)):
    """tls.crt/tls.key for names (DNS) in folder, signed by the CA in pki (as cert-manager issues and renews them)."""
    def ssl_cmd(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)
    ssl_cmd("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tls.key",
            "-out", "tls.csr", "-subj", "/CN=localhost")
    (folder / "san.ext").write_text("subjectAltName=" + ",".join(f"DNS:{name}" for name in names) + "\n")
    ssl_cmd("x509", "-req", "-in", "tls.csr", "-CA", pki / "ca.crt", "-CAkey", pki / "ca.key", "-CAcreateserial",
            "-CAserial", folder / "ca.srl", "-out", "tls.crt", "-days", str(days), "-extfile", "san.ext")


def renew_in_place(folder, fresh):
    """Replace folder's tls.crt and tls.key by fresh's, keeping owner and mode (as the kubelet swaps a Secret's files)."""
    for name in ("tls.key", "tls.crt"):
        stat = (folder / name).stat()
        staged = folder / f".{name}.new"
        shutil.copy(fresh / name, staged)
        os.chown(staged, stat.st_uid, stat.st_gid)
        staged.chmod(stat.st_mode & 0o777)
        os.replace(staged, folder / name)


def certificate_fields(pem):
    """(serial, notAfter) of a PEM certificate; None for no certificate."""
    fields = subprocess.run(["openssl", "x509", "-noout", "-serial", "-enddate"], input=pem, capture_output=True,
                            text=True, check=False)
    if fields.returncode:
        return None
    values = dict(line.split("=", 1) for line in fields.stdout.splitlines())
    return values["serial"], values["notAfter"]


def certificate_names(path):
    """The DNS names of a certificate file (its subjectAltName)."""
    text = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", path], capture_output=True,
                          text=True, check=True).stdout
    return tuple(part.strip()[4:] for part in text.splitlines()[-1].split(",") if part.strip().startswith("DNS:"))


def renew(pki, folder, scratch):
    """A new certificate from the CA in pki swapped into folder (as a renewal reaches a pod): its (serial, notAfter)."""
    scratch.mkdir()
    issue_certificate(pki, scratch, days=2, names=certificate_names(folder / "tls.crt"))
    renew_in_place(folder, scratch)
    return certificate_fields((scratch / "tls.crt").read_text())


def served_certificate(pki, port, starttls_postgres=False):
    """(serial, notAfter) of the certificate a local server presents, read by openssl."""
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(pki / "ca.crt")]
    hello = subprocess.run(args + (["-starttls", "postgres"] if starttls_postgres else []), input="",
                           capture_output=True, text=True, check=False).stdout
    return certificate_fields(hello[hello.find("-----BEGIN CERTIFICATE-----"):hello.find("-----END CERTIFICATE-----") + 25])


def not_after(path):
    """A certificate file's notAfter, in Unix seconds."""
    return ssl.cert_time_to_seconds(certificate_fields(Path(path).read_text())[1])


@pytest.fixture(scope="session")
def mlflow_pki(mlflow_work):
    """A CA and a server certificate for localhost and the chart's server Certificate names, as cert-manager would
    issue it from the platform CA (clients in a pod network reach the server by its Service name)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=smoke CA"],
                   check=True, capture_output=True, cwd=mlflow_work)
    server = next(c for c in mlflow_chart_objects("Certificate") if c["metadata"]["name"] == "mlflow")
    issue_certificate(mlflow_work, mlflow_work, names=("localhost", *server["spec"]["dnsNames"]))
    return mlflow_work


@pytest.fixture(scope="session")
def mlflow_postgres(mlflow_work, mlflow_pki):
    """A PostgreSQL server that accepts only TLS password logins, with the tracking and auth databases."""
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
    pgdir = mlflow_work / "pg"
    pgdir.mkdir()
    for name in ("tls.crt", "tls.key"):
        shutil.copy(mlflow_pki / name, pgdir / name)
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
                    f"sslrootcert={mlflow_pki / 'ca.crt'}"]
    for database in ("mlflow", "mlflow_auth"):
        subprocess.run([*psql, "-c", f"CREATE DATABASE {database}"], check=True, capture_output=True,
                       env={**os.environ, "PGPASSWORD": "dbSecret123"})
    yield {"port": port, "tls_dir": pgdir}
    subprocess.run(as_postgres([bindir / "pg_ctl", "-D", pgdir / "data", "-m", "fast", "stop"]), check=False)


@pytest.fixture(scope="session")
def mlflow_s3(mlflow_work):
    """moto's S3 server, with the artifact bucket the chart's init container would create."""
    port = free_port()
    proc = subprocess.Popen([VENV / "bin/moto_server", "-p", str(port)], stdout=open(mlflow_work / "moto.log", "w"),
                            stderr=subprocess.STDOUT)
    assert wait_for(lambda: subprocess.run(["curl", "-sf", f"http://localhost:{port}/"], capture_output=True).returncode == 0)
    yield f"http://localhost:{port}"
    proc.terminate()


# The service users the mlflow role gives the chart by default (mlflow_service_users: [training, spark]).
SERVICE_USER = {"secret": "mlflow-training", "username": "training", "password": "Tra1ningPasswordForTheSmokeTest"}
SPARK_USER = {"secret": "mlflow-spark", "username": "spark", "password": "Spark1PasswordForTheSmokeTest"}


@functools.lru_cache(maxsize=1)
def role_rendered_mlflow():
    """The mlflow release exactly as the role renders it with its defaults (playbooks/images.yml: the role's values,
    our post-renderer)."""
    folder = Path(tempfile.mkdtemp(prefix="mlflow-rendered-"))
    args = [str(Path(sys.executable).parent / "ansible-playbook"), "playbooks/images.yml", "-e",
            json.dumps({"platform_components": {"mlflow": True}, "platform_render_dir": str(folder)})]
    run = subprocess.run(args, cwd=ROOT, env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    return tuple(o for o in yaml.safe_load_all((folder / "mlflow.yaml").read_text()) if o)


def mlflow_chart_objects(kind=None):
    """The role's mlflow release (objects of one kind)."""
    return [o for o in role_rendered_mlflow() if kind in (None, o["kind"])]


@pytest.fixture(scope="session")
def mlflow_chart(mlflow_work):
    """The rendered chart: its scripts written to disk, and the server Deployment."""
    objects = mlflow_chart_objects()
    scripts = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "mlflow-scripts")
    scripts_dir = mlflow_work / "scripts"
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


def projected_secrets(pod, volume, secrets, target):
    """A projected volume of Secrets as the kubelet writes it (items at their paths) into target."""
    sources = next(v for v in pod["volumes"] if v["name"] == volume)["projected"]["sources"]
    for source in sources:
        for item in source["secret"]["items"]:
            path = target / item["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets[source["secret"]["name"]][item["key"]])
    return target


def local_command(container, scripts_dir):
    """The container's command, with the scripts' mount path pointing at the rendered scripts."""
    return [part.replace("/opt/mlflow/scripts", str(scripts_dir)) for part in container["command"]]


@pytest.fixture(scope="session")
def mlflow_server(mlflow_work, mlflow_pki, mlflow_postgres, mlflow_s3, mlflow_chart):
    scripts_dir, pod = mlflow_chart
    secrets = {
        "mlflow-admin": {"username": "admin", "password": ADMIN_PASSWORD, "flaskSecretKey": "f1askKeyForTheSmokeTest"},
        "mlflow-postgresql": {"username": "mlflow", "password": "dbSecret123"},
        "mlflow-object-store": {"accessKey": "smoke", "secretKey": "smokeSecret"},
        "mlflow-object-store-reader": {"accessKey": "mlflow-reader", "secretKey": "readerSecret"},
        **{user["secret"]: {"username": user["username"], "password": user["password"]}
           for user in (SERVICE_USER, SPARK_USER)},
    }
    port = free_port()
    paths = {"SCRIPTS_DIR": str(scripts_dir), "HOME": str(mlflow_work), "CA_FILE": str(mlflow_pki / "ca.crt"),
             "DB_HOST": "localhost", "DB_PORT": str(mlflow_postgres["port"])}

    init = next(c for c in pod["initContainers"] if c["name"] == "db-upgrade")
    upgrade = subprocess.run(local_command(init, scripts_dir), env=container_env(init, secrets, dict(paths)),
                             capture_output=True, text=True, check=False)
    assert upgrade.returncode == 0, upgrade.stderr

    main = pod["containers"][0]
    env = container_env(main, secrets, {**paths, "POD_IP": "127.0.0.1", "MLFLOW_AUTH_CONFIG_PATH": str(mlflow_work / "auth.ini"),
                                         "METRICS_DIR": str(mlflow_work / "metrics"), "TLS_DIR": str(mlflow_pki), "PORT": str(port),
                                         "HOST": "127.0.0.1", "TLS_CHECK_SECONDS": "2",
                                         "USERS_DIR": str(projected_secrets(pod, "users", secrets, mlflow_work / "users")),
                                         "MLFLOW_S3_ENDPOINT_URL": mlflow_s3})
    env["ALLOWED_HOSTS"] += f",localhost:{port}"
    env.pop("AWS_CA_BUNDLE")  # moto speaks plain HTTP here
    subprocess.run([VENV / "bin/python", "-c", "import boto3; boto3.client('s3', endpoint_url='%s', region_name='us-east-1',"
                    " aws_access_key_id='smoke', aws_secret_access_key='smokeSecret').create_bucket(Bucket='%s')"
                    % (mlflow_s3, env["ARTIFACT_BUCKET"])], check=True)
    proc = subprocess.Popen(local_command(main, scripts_dir), env=env, stdout=open(mlflow_work / "server.log", "w"),
                            stderr=subprocess.STDOUT)
    url = f"https://localhost:{port}"
    assert wait_for(lambda: request(mlflow_pki, url + "/health")[0] == 200), (mlflow_work / "server.log").read_text()[-3000:]
    yield {"url": url, "env": env, "upgrade": (init, secrets, paths), "pid": proc.pid}
    proc.terminate()
    proc.wait(30)


def mlflow_env(pki, work):
    """A client environment of the MLflow admin, trusting the server's CA."""
    return {"PATH": os.environ["PATH"], "HOME": str(work), "MLFLOW_TRACKING_USERNAME": "admin",
            "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD, "MLFLOW_TRACKING_SERVER_CERT_PATH": str(pki / "ca.crt")}


def request(ca_dir, url, auth=None, host=None, body=None, method=None):
    """GET, or POST (or method) of a JSON body; (status, text), status 0 when nothing answers."""
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method,
                                 headers={} if body is None else {"Content-Type": "application/json"})
    if auth:
        import base64  # pylint: disable=import-outside-toplevel
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    if host:
        req.add_header("Host", host)
    context = ssl.create_default_context(cafile=str(ca_dir / "ca.crt"))
    try:
        with urllib.request.urlopen(req, context=context, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return 0, ""


def bucket_keys(s3, bucket, prefix=""):
    """Object keys in a bucket of the local S3 server (credentials of the smoke server's object store)."""
    listing = subprocess.run(
        [VENV / "bin/python", "-c", "import boto3, json, sys; print(json.dumps([o['Key'] for o in boto3.client('s3', "
         f"endpoint_url='{s3}', region_name='us-east-1', aws_access_key_id='smoke', aws_secret_access_key='smokeSecret')"
         ".list_objects_v2(Bucket=sys.argv[1], Prefix=sys.argv[2]).get('Contents', [])]))", bucket, prefix],
        check=True, capture_output=True, text=True).stdout
    return json.loads(listing)
