"""The in-cluster NFS server as the nfs role renders it, run by the real NFS-Ganesha (Debian packages nfs-ganesha,
nfs-ganesha-vfs: the image's) as a local process with the rendered start script, environment, configuration and
capabilities (setpriv: the container's capability set and no_new_privs), on a loopback address of its own; a real
NFSv4 client (libnfs, tests/nfs_client.py) does what the nodes' clients do (tests/local_pods.py says what changes;
the Ganesha configuration also gets the pod's address as Bind_addr). Issue 15.1: only the export, root squashed,
privileged client ports, the listed clients only."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import Runner
from local_pods import LocalPod, by_kind
from paths import ROOT

ADDRESS, OTHER_ADDRESS = "127.0.0.23", "127.0.0.24"
CLIENT = ROOT / "tests/nfs_client.py"
POD_USER = 185  # e.g. Spark's


def rendered(folder, clients):
    result = Runner({})("playbooks/images.yml", {
        "platform_components": {"nfs": True}, "platform_image_registry": "registry.mlops.test",
        "nfs_server_clients": clients, "platform_render_dir": str(folder)})
    assert result.rc == 0, result.failure_messages
    return [o for o in yaml.safe_load_all((folder / "nfs-server.yaml").read_text()) if o]


def nfs(uid, operation, path, data="", export="/exports", as_user=None, address=ADDRESS):  # pylint: disable=too-many-arguments
    argv = [sys.executable, CLIENT, address, export, str(uid), operation, path, data]
    if as_user:  # the system's Python and the client's source: that user may read neither the venv nor the checkout
        argv = ["runuser", "-u", as_user, "--", "/usr/bin/python3", "-c", CLIENT.read_text(), *argv[2:]]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, cwd="/")


def server(objects, work, address=ADDRESS):
    """The StatefulSet's pod as a process at address (its claim as a local directory); stopped by the caller."""
    statefulset = by_kind(objects, "StatefulSet", "nfs-server")
    template = json.loads(json.dumps(statefulset["spec"]["template"]))
    # What the StatefulSet controller adds: a volume per claim template.
    template["spec"].setdefault("volumes", []).extend(
        {"name": c["metadata"]["name"], "persistentVolumeClaim": {"claimName": c["metadata"]["name"]}}
        for c in statefulset["spec"]["volumeClaimTemplates"])
    exports = work / "claim"
    exports.mkdir()
    pod = LocalPod(template, address, objects, work / "pod", {"exports": exports}, {})
    container = pod.container()
    config = Path(pod.local("/etc/nfs-server/ganesha.conf", container))
    text = config.read_text()
    assert "NFS_Port = 2049;" in text
    config.write_text(text.replace("NFS_Port = 2049;", f"NFS_Port = 2049;\n  Bind_addr = {address};"))
    capabilities = container["securityContext"]["capabilities"]
    assert capabilities["drop"] == ["ALL"] and container["securityContext"]["allowPrivilegeEscalation"] is False
    bounding = ",".join(["-all"] + [f"+{c.lower()}" for c in capabilities["add"]])
    argv = ["setpriv", "--no-new-privs", "--bounding-set", bounding, "--inh-caps", "-all", *pod.argv(container)]
    log = work / "ganesha.log"
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(argv, env={"PATH": os.environ["PATH"], **pod.env(container, {})}, stdout=out,
                                stderr=subprocess.STDOUT)
    for _ in range(30):
        if nfs(0, "mount", "", export="/", address=address).returncode == 0 or proc.poll() is not None:
            break
        time.sleep(1)
    return proc, exports, log


@pytest.fixture(scope="module")
def nodes_only(tmp_path_factory):
    """The server with the loopback address (where the local client connects from) as its only client."""
    if os.geteuid() != 0:
        pytest.skip("NFS-Ganesha acts as each client's user: it runs as root, as in its container")
    assert shutil.which("ganesha.nfsd"), "scripts/test-deps installs nfs-ganesha"
    work = tmp_path_factory.mktemp("nfs")
    objects = rendered(work, ["127.0.0.1/32"])
    proc, exports, log = server(objects, work)
    assert proc.poll() is None, log.read_text()[-3000:]
    yield objects, exports, log
    proc.terminate()
    proc.wait(30)


def test_the_rendered_server_runs_with_five_capabilities_and_no_privileged_container(nodes_only):
    objects, _, log = nodes_only
    container = by_kind(objects, "StatefulSet", "nfs-server")["spec"]["template"]["spec"]["containers"][0]
    assert not container["securityContext"].get("privileged") and container["image"].startswith("registry.mlops.test/")
    assert "currently set capabilities are: cap_chown,cap_dac_read_search,cap_fowner,cap_setgid,cap_setuid" in \
        log.read_text(), "Ganesha runs with exactly the container's capabilities"


def test_root_on_a_node_is_squashed_and_cannot_read_a_pods_files(nodes_only):
    """As csi-driver-nfs makes a claim's directory (root, mode 0777) and a pod's user writes it."""
    _, exports, _ = nodes_only
    for path in ("/ml", "/ml/shared"):
        made = nfs(0, "mkdir", path)
        assert made.returncode == 0, made.stderr
    claim = exports / "ml/shared"
    assert (claim.stat().st_uid, oct(claim.stat().st_mode & 0o777)) == (65534, "0o777"), "root became nobody"
    written = nfs(POD_USER, "write", "/ml/shared/part-0", "rows")
    assert written.returncode == 0, written.stderr
    assert (claim / "part-0").stat().st_uid == POD_USER and (claim / "part-0").read_text() == "rows"
    assert nfs(POD_USER, "read", "/ml/shared/part-0").stdout == "rows"
    refused = nfs(0, "read", "/ml/shared/part-0")
    assert refused.returncode != 0 and "NFS4ERR_ACCESS" in refused.stderr, "root may not read a pod's 0600 file"
    assert nfs(0, "write", "/ml/shared/by-root", "x").returncode == 0
    assert (claim / "by-root").stat().st_uid == 65534
    assert nfs(POD_USER, "write", "/top-level", "x").returncode != 0, "the export's top belongs to nobody"


def test_only_the_export_is_served(nodes_only):
    assert nfs(0, "mount", "", export="/").returncode == 0, "the NFSv4 pseudo root"
    for export, path in (("/etc", "/passwd"), ("/", "/etc/passwd"), ("/exports/..", "/etc/passwd")):
        leaked = nfs(0, "read", path, export=export)
        assert leaked.returncode != 0 and "root:" not in leaked.stdout, (export, path)


def test_an_unprivileged_client_port_is_refused(nodes_only):
    """No `insecure`: a client's unprivileged process (here: not root, so libnfs cannot bind a port below 1024)."""
    refused = nfs(POD_USER, "write", "/ml-unprivileged", "x", as_user="nobody")
    assert refused.returncode != 0 and "NFS4ERR_NOENT" in refused.stderr, refused.stderr
    assert nfs(0, "mount", "").returncode == 0, "the same, from a privileged port"


def test_an_address_not_listed_cannot_mount(nodes_only, tmp_path):
    """The same role with other clients (no node at this address): the export is not there for it."""
    del nodes_only  # runs with it: both servers answer, only the one that lists this client serves it
    objects = rendered(tmp_path, ["192.0.2.10/32"])
    proc, _, log = server(objects, tmp_path, OTHER_ADDRESS)
    try:
        assert proc.poll() is None, log.read_text()[-3000:]
        assert nfs(0, "mount", "", export="/", address=OTHER_ADDRESS).returncode == 0, "it answers: the pseudo root"
        refused = nfs(0, "mount", "", address=OTHER_ADDRESS)
        assert refused.returncode != 0 and "NFS4ERR_NOENT" in refused.stderr, refused.stderr
    finally:
        proc.terminate()
        proc.wait(30)
    assert "Clients = 192.0.2.10/32;" in by_kind(objects, "ConfigMap", "nfs-server")["data"]["ganesha.conf"]
    policy = by_kind(objects, "NetworkPolicy", "allow-nfs")["spec"]["ingress"]
    assert policy == [{"from": [{"ipBlock": {"cidr": "192.0.2.10/32"}}], "ports": [{"protocol": "TCP", "port": 2049}]}]
