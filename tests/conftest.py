"""Shared fixtures: a simulated cluster built by the collection's own playbooks, and a playbook runner."""

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client, config

from paths import ROOT

# A real MLflow server (TLS, basic auth, PostgreSQL, S3) for the tests that need one; started once per session.
from mlflow_local import (mlflow_chart, mlflow_pki, mlflow_postgres, mlflow_s3,  # noqa: F401  pylint: disable=unused-import
                          mlflow_server, mlflow_work)

SHARED_CRDS = Path(os.environ.get("MLOPS_CRDS_DIR", ROOT.parent / "shared" / "crds")).resolve()
SHARED_CHARTS = Path(os.environ.get("MLOPS_CHARTS_DIR", ROOT.parent / "shared" / "charts")).resolve()
PURGE = {"platform_purge": True, "platform_purge_confirm": "yes-delete-platform-data"}


class PlaybookResult:
    """Outcome of one ansible-playbook run, read from the ansible.posix.json callback."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        start = proc.stdout.find("{")
        self.report = json.loads(proc.stdout[start:]) if start >= 0 else {"stats": {}, "plays": []}
        self.stats = self.report["stats"].get("localhost", {})
        self.stdout = proc.stdout
        self.changed = sum(host.get("changed", 0) for host in self.report["stats"].values())

    @property
    def failure_messages(self):
        """Every failed task's message, in order."""
        found = [
            str(host.get("msg") or host.get("stderr") or json.dumps(host)[:2000])
            for play in self.report.get("plays", [])
            for task in play["tasks"]
            for host in task["hosts"].values()
            if host.get("failed") or host.get("unreachable")
        ]
        return found or ([self.stderr[-3000:] or self.stdout[-3000:]] if self.rc else [])

    def results(self, task_name):
        """{host: result} of every run of the task with this name (without its "role : " prefix)."""
        return {host: result
                for play in self.report.get("plays", [])
                for task in play["tasks"] if task["task"]["name"].split(" : ")[-1] == task_name
                for host, result in task["hosts"].items()}

    def changed_tasks(self):
        """Names of the tasks that reported a change."""
        return [
            task["task"]["name"]
            for play in self.report.get("plays", [])
            for task in play["tasks"]
            if any(h.get("changed") for h in task["hosts"].values())
        ]


class Runner:
    """Runs the collection's playbooks against one cluster."""

    def __init__(self, base_vars, vars_files=()):
        self.base_vars = base_vars
        self.vars_files = list(vars_files)

    def command(self, playbook, extra_vars=None, check=False, tags=None, env=None,  # pylint: disable=too-many-arguments
                inventory="inventories/ci/hosts.yml", diff=False, root=ROOT):
        """(argv, environment) of ansible-playbook running the playbook with the JSON callback."""
        args = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", inventory, playbook]
        args += [f"--extra-vars=@{path}" for path in self.vars_files]
        args += ["-e", json.dumps({**self.base_vars, **(extra_vars or {})})]
        if check:
            args.append("--check")
        if diff:
            args.append("--diff")
        if tags:
            args += ["--tags", tags]
        # The collection of root (Molecule exports its project's paths, which would win over root's ansible.cfg).
        run_env = {**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
                   "ANSIBLE_COLLECTIONS_PATH": str(root / ".ansible/collections"), "ANSIBLE_ROLES_PATH": str(root / "roles"),
                   "MLOPS_CRDS_DIR": str(SHARED_CRDS), "MLOPS_CHARTS_DIR": str(SHARED_CHARTS), **(env or {})}
        return args, run_env

    def __call__(self, playbook, extra_vars=None, root=ROOT, **options):
        args, run_env = self.command(playbook, extra_vars, root=root, **options)
        proc = subprocess.run(args, cwd=root, env=run_env, capture_output=True, text=True, check=False)
        return PlaybookResult(proc)

    def start(self, playbook, extra_vars=None, **options):
        """The playbook running in a session (process group) of its own, so that it and its Helm children can be
        killed together."""
        args, run_env = self.command(playbook, extra_vars, **options)
        return subprocess.Popen(args, cwd=ROOT, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)


@pytest.fixture(scope="session")
def sim_cluster(tmp_path_factory):
    """A simulated cluster of its own for this test session, started and deleted by the collection's playbooks."""
    kubeconfig = tmp_path_factory.mktemp("sim") / "kubeconfig"
    name = os.environ.get("MLOPS_TEST_CLUSTER", "mlops-pytest")
    run = Runner({"sim_cluster_name": name, "platform_kubeconfig": str(kubeconfig), "sim_cluster_nodes": 2})
    result = run("playbooks/cluster.yml")
    assert result.rc == 0, result.failure_messages or result.stderr
    yield run, kubeconfig
    result = run("playbooks/cluster_delete.yml")
    assert result.rc == 0, result.failure_messages or result.stderr


@pytest.fixture(scope="session")
def run(sim_cluster):
    """Playbook runner bound to the session's cluster."""
    return sim_cluster[0]


@pytest.fixture(scope="session")
def kube(sim_cluster):
    """Kubernetes API client for the session's cluster."""
    return config.new_client_from_config(config_file=str(sim_cluster[1]))


@pytest.fixture
def core(kube):
    """core/v1 client."""
    return client.CoreV1Api(kube)


@pytest.fixture(scope="session")
def crd_api(kube):
    """apiextensions/v1 client."""
    return client.ApiextensionsV1Api(kube)


def upstream_crd_names(component):
    """metadata.name of every CRD file of one component in the shared upstream copy."""
    sys.path.insert(0, str(ROOT / "plugins" / "filter"))
    from k8s_yaml import from_k8s_yaml  # pylint: disable=import-outside-toplevel

    return sorted(doc["metadata"]["name"] for f in (SHARED_CRDS / component).glob("*.yaml") for doc in from_k8s_yaml(f.read_text()))


def secret(core, namespace, name):
    """A Secret's data, decoded."""
    return {k: base64.b64decode(v).decode() for k, v in core.read_namespaced_secret(name, namespace).data.items()}


def gone(read, *args):
    """Poll until read(*args) answers 404 (up to 60 s)."""
    for _ in range(60):
        try:
            read(*args)
        except client.ApiException as err:
            if err.status == 404:
                return True
            raise
        time.sleep(1)
    return False


def assert_fails_in_preflight(run, kube, settings, variable, namespace):
    """deploy.yml with bad input fails before any change, names the variable, and creates no namespace."""
    result = run("playbooks/deploy.yml", settings)
    assert result.rc != 0 and result.changed == 0
    assert any(variable in m for m in result.failure_messages), result.failure_messages
    assert namespace not in {n.metadata.name for n in client.CoreV1Api(kube).list_namespace().items}


# The platform deployed once for tests/platform (its fixtures; the module uses Runner, defined above).
from platform_fixtures import order_platform_tests, platform, platform_kube  # noqa: E402,F401  pylint: disable=unused-import,wrong-import-position


def pytest_collection_modifyitems(items):
    """tests/platform's modules run in their order: reading before changing, teardown last."""
    order_platform_tests(items)
