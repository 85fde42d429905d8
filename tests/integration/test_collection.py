"""The built collection tarball installs and its roles and playbooks run by FQCN."""

import subprocess
import sys
import tarfile
from pathlib import Path

from conftest import ROOT, Runner, upstream_crd_names

BIN = Path(sys.executable).parent


def test_built_tarball_installs_and_runs_by_fqcn(tmp_path, sim_cluster, crd_api):
    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--output-path", tmp_path, "--force", ROOT],
                   check=True, capture_output=True)
    tarball = next(tmp_path.glob("mlops-platform-*.tar.gz"))
    members = tarfile.open(tarball).getnames()
    assert "roles/crds/meta/argument_specs.yml" in members
    assert not [m for m in members if m.startswith((".venv", ".ansible", "molecule/", ".cache"))]

    installed = tmp_path / "collections"
    subprocess.run([BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", installed, tarball],
                   check=True, capture_output=True)
    doc = subprocess.run([BIN / "ansible-doc", "-t", "role", "mlops.platform.crds"], check=True, capture_output=True,
                         text=True, env={"ANSIBLE_COLLECTIONS_PATH": str(installed), "PATH": str(BIN)})
    assert "crds_source" in doc.stdout

    run = Runner({**sim_cluster[0].base_vars, "crds_components": ["trust-manager"]})
    env = {"ANSIBLE_COLLECTIONS_PATH": str(installed), "ANSIBLE_CONFIG": "/dev/null"}
    applied = run("mlops.platform.deploy", env=env, tags="crds", inventory=str(ROOT / "inventories/ci/hosts.yml"))
    assert applied.rc == 0, applied.failure_messages or applied.stderr
    names = upstream_crd_names("trust-manager")
    assert {c.metadata.name for c in crd_api.list_custom_resource_definition().items} >= set(names)

    purged = run("mlops.platform.teardown", {"platform_purge": True, "platform_purge_confirm": "yes-delete-platform-data"},
                 env=env, tags="crds", inventory=str(ROOT / "inventories/ci/hosts.yml"))
    assert purged.rc == 0, purged.failure_messages
