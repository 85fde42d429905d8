"""The built collection tarball installs and its roles and playbooks run by FQCN."""

import functools
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from conftest import ROOT, Runner, upstream_crd_names

BIN = Path(sys.executable).parent


def test_built_tarball_installs_and_runs_by_fqcn(tmp_path, sim_cluster, crd_api):
    # A plain configuration, not the repository's (which links the working tree as the collection).
    plain_config = tmp_path / "ansible.cfg"
    plain_config.write_text("[defaults]\n")
    installed = tmp_path / "collections"
    env = {"ANSIBLE_COLLECTIONS_PATH": str(installed), "ANSIBLE_CONFIG": str(plain_config)}
    galaxy = functools.partial(subprocess.run, check=True, capture_output=True, text=True, cwd=tmp_path,
                               env={**os.environ, **env})

    galaxy([BIN / "ansible-galaxy", "collection", "build", "--output-path", tmp_path, ROOT])
    tarball = next(tmp_path.glob("mlops-platform-*.tar.gz"))
    members = tarfile.open(tarball).getnames()
    assert "roles/crds/meta/argument_specs.yml" in members
    assert "plugins/modules/k8s_object_count.py" in members
    assert not [m for m in members if m.split("/")[0] in (".venv", ".ansible", "molecule", ".cache", ".ci", "bench")]

    galaxy([BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", installed, tarball])
    assert (installed / "ansible_collections/mlops/platform/MANIFEST.json").is_file()
    doc = galaxy([BIN / "ansible-doc", "-t", "role", "mlops.platform.crds"])
    assert "crds_source" in doc.stdout

    run = Runner({**sim_cluster[0].base_vars, "crds_components": ["trust-manager"]})
    inventory = str(ROOT / "inventories/ci/hosts.yml")
    applied = run("mlops.platform.deploy", env=env, tags="crds", inventory=inventory)
    assert applied.rc == 0, applied.failure_messages or applied.stderr
    names = upstream_crd_names("trust-manager")
    assert {c.metadata.name for c in crd_api.list_custom_resource_definition().items} >= set(names)

    purged = run("mlops.platform.teardown", {"platform_purge": True, "platform_purge_confirm": "yes-delete-platform-data"},
                 env=env, tags="crds", inventory=inventory)
    assert purged.rc == 0, purged.failure_messages
    assert not {c.metadata.name for c in crd_api.list_custom_resource_definition().items} & set(names)
