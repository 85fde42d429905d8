"""The whole platform deployed once, for the tests of tests/platform to assert much on.

Under Molecule (its default scenario's verifier), the platform is the one Molecule converged (converge, then the
idempotence step): MLOPS_PLATFORM_KUBECONFIG, MLOPS_PLATFORM_CLUSTER and MLOPS_PLATFORM_LOG (the converge's log)
say where. Run on their own (`pytest tests/platform`), the tests start a cluster of their own and converge
site.yml on it once, checking that a second converge changes nothing, and delete the cluster at the end.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import config

from conftest import Runner
from paths import ROOT

SETTINGS = ROOT / "tests/platform/settings.yml"
# The modules of tests/platform in the order they must run: reading before changing, teardown last.
ORDER = ["test_upstream_charts", "test_components", "test_workflows", "test_training_run", "test_serving_local",
         "test_mirror", "test_teardown"]


@dataclass
class Platform:
    """Where the platform runs, how to run playbooks against it, and what its converge printed."""

    run: Runner
    kubeconfig: str
    converge_log: str


def order_platform_tests(items):
    """Run tests/platform's modules in ORDER (pytest_collection_modifyitems)."""
    def rank(item):
        module = Path(str(item.fspath)).stem
        return ORDER.index(module) if module in ORDER else -1
    items.sort(key=rank)


@pytest.fixture(scope="session")
def platform(tmp_path_factory):
    """The converged platform (see the module docstring)."""
    if os.environ.get("MLOPS_PLATFORM_KUBECONFIG"):
        kubeconfig = os.environ["MLOPS_PLATFORM_KUBECONFIG"]
        run = Runner({"sim_cluster_name": os.environ["MLOPS_PLATFORM_CLUSTER"], "platform_kubeconfig": kubeconfig},
                     [SETTINGS])
        yield Platform(run, kubeconfig, Path(os.environ["MLOPS_PLATFORM_LOG"]).read_text(errors="replace"))
        return
    kubeconfig = str(tmp_path_factory.mktemp("platform") / "kubeconfig")
    run = Runner({"sim_cluster_name": "mlops-platform", "platform_kubeconfig": kubeconfig}, [SETTINGS])
    first = run("playbooks/site.yml")
    assert first.rc == 0, first.failure_messages or first.stderr[-3000:]
    again = run("playbooks/site.yml")
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    yield Platform(run, kubeconfig, first.stdout + first.stderr)
    deleted = run("playbooks/cluster_delete.yml")
    assert deleted.rc == 0, deleted.failure_messages


@pytest.fixture(scope="session")
def platform_kube(platform):
    """Kubernetes API client for the platform's cluster."""
    return config.new_client_from_config(config_file=platform.kubeconfig)
