"""Cluster providers. kind and k3s cannot run here (no Docker engine, no SSH hosts, no internet): their tasks run in
check mode with --diff against local stand-in hosts, so what they would write is asserted. existing and sim run
for real against the session's simulated cluster."""

import hashlib
import subprocess

import pytest
import yaml

from conftest import Runner

TOKEN = "join-token-that-must-never-be-printed"


def k3s_inventory(tmp_path, servers, agents):
    """Stand-in k3s hosts, all reached locally (check mode writes nothing)."""
    hosts = {"mlops": {
        "hosts": {"localhost": {}},
        "children": {
            "k3s_servers": {"hosts": {f"s{i}": {"ansible_host": f"10.0.0.{10 + i}"} for i in range(1, servers + 1)}},
            "k3s_agents": {"hosts": {f"a{i}": {"ansible_host": f"10.0.1.{10 + i}"} for i in range(1, agents + 1)}},
        },
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                 "ansible_become": False}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(hosts))
    return str(path)


def airgap_dir(tmp_path, listed_binary=b"k3s binary"):
    """A k3s air-gap directory: binary, images archive, and the release's sha256 list (of listed_binary)."""
    folder = tmp_path / "airgap"
    folder.mkdir()
    (folder / "k3s").write_bytes(b"k3s binary")
    (folder / "k3s-airgap-images-amd64.tar.zst").write_bytes(b"images")
    (folder / "sha256sum-amd64.txt").write_text(
        f"{hashlib.sha256(listed_binary).hexdigest()}  k3s\n{hashlib.sha256(b'images').hexdigest()}  k3s-airgap-images-amd64.tar.zst\n")
    return str(folder)


def k3s_run(tmp_path, servers=3, agents=1, **settings):
    run = Runner({"platform_cluster_provider": "k3s", "platform_kubeconfig": str(tmp_path / "kubeconfig"),
                  "cluster_k3s_token": TOKEN, **settings})
    return run("playbooks/cluster.yml", check=True, diff=True, inventory=k3s_inventory(tmp_path, servers, agents))


def rendered(result, task):
    """{host: text} the template task would write."""
    return {host: r["diff"][0]["after"] if isinstance(r["diff"], list) else r["diff"]["after"]
            for host, r in result.results(task).items() if "diff" in r}


def test_k3s_ha_cluster_in_check_mode(tmp_path):
    result = k3s_run(tmp_path, cluster_k3s_airgap_dir=airgap_dir(tmp_path))
    assert result.rc == 0, result.failure_messages or result.stderr[-2000:]

    configs = {h: yaml.safe_load(text) for h, text in rendered(result, "Configuration of this k3s node").items()}
    assert set(configs) == {"s1", "s2", "s3", "a1"}
    assert configs["s1"]["cluster-init"] is True and "server" not in configs["s1"], "3 servers: embedded etcd HA"
    for joining in ("s2", "s3", "a1"):
        assert configs[joining]["server"] == "https://10.0.0.11:6443"
        assert "cluster-init" not in configs[joining]
    for server in ("s1", "s2", "s3"):
        assert configs[server]["tls-san"] == ["10.0.0.11"] and configs[server]["write-kubeconfig-mode"] == "0600"
    assert "tls-san" not in configs["a1"]
    assert {c["token-file"] for c in configs.values()} == {"/etc/rancher/k3s/token"}

    units = rendered(result, "Systemd unit of this k3s node")
    assert "ExecStart=/usr/local/bin/k3s server" in units["s2"] and "Type=notify" in units["s2"]
    assert "ExecStart=/usr/local/bin/k3s agent" in units["a1"]
    assert "v1.34.2+k3s1" in units["s1"]

    token_tasks = result.results("Join token of this k3s node")
    assert set(token_tasks) == {"s1", "s2", "s3", "a1"} and all(r.get("censored") for r in token_tasks.values())
    assert TOKEN not in result.stdout and TOKEN not in result.stderr, "the join token is never printed"
    assert set(result.results("Install the air-gapped k3s binary")) == {"s1", "s2", "s3", "a1"}


def test_k3s_single_server_without_token_has_no_cluster_init(tmp_path):
    result = k3s_run(tmp_path, servers=1, agents=2, cluster_k3s_token="", cluster_k3s_airgap_dir=airgap_dir(tmp_path))
    assert result.rc == 0, result.failure_messages
    configs = {h: yaml.safe_load(text) for h, text in rendered(result, "Configuration of this k3s node").items()}
    assert "cluster-init" not in configs["s1"] and "token-file" not in configs["s1"], "the first server makes the token"
    assert configs["a2"]["server"] == "https://10.0.0.11:6443" and configs["a2"]["token-file"]


def test_k3s_refuses_an_even_number_of_servers(tmp_path):
    result = k3s_run(tmp_path, servers=2, agents=0)
    assert result.rc != 0
    assert any("odd number" in m for m in result.failure_messages), result.failure_messages
    assert not result.results("Configuration of this k3s node"), "nothing is configured"


def test_k3s_refuses_an_air_gapped_binary_with_another_checksum(tmp_path):
    result = k3s_run(tmp_path, cluster_k3s_airgap_dir=airgap_dir(tmp_path, listed_binary=b"the released binary"))
    assert result.rc != 0
    assert any("sha256" in m for m in result.failure_messages), result.failure_messages
    assert not result.results("Install the air-gapped k3s binary")


def docker_engine_reachable():
    try:
        return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0
    except FileNotFoundError:
        return False


def test_kind_config_and_a_clear_error_without_docker(tmp_path):
    run = Runner({"platform_cluster_provider": "kind", "platform_kubeconfig": str(tmp_path / "kubeconfig"),
                  "cluster_kind_bin_dir": str(tmp_path / "bin"), "cluster_name": "laptop", "cluster_kind_https_port": 8443})
    result = run("playbooks/cluster.yml", check=True, diff=True, inventory="inventories/sample/hosts.yml")

    config = yaml.safe_load(rendered(result, "Cluster configuration")["localhost"])
    assert config["kind"] == "Cluster" and config["name"] == "laptop"
    roles = [n["role"] for n in config["nodes"]]
    assert roles == ["control-plane", "worker", "worker"]
    assert {n["image"] for n in config["nodes"]} == {
        "docker.io/kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a"}
    plane = config["nodes"][0]
    assert plane["labels"] == {"ingress-ready": "true"}
    assert {(m["containerPort"], m["hostPort"]) for m in plane["extraPortMappings"]} == {(80, 80), (443, 8443)}
    if docker_engine_reachable():
        pytest.skip("a Docker engine runs here: the missing-engine error cannot be observed")
    assert result.rc != 0
    assert any("kind needs a running Docker engine" in m for m in result.failure_messages), result.failure_messages
    assert not result.results("Download kind v0.30.0"), "nothing is downloaded before Docker is known to work"


def test_existing_cluster_is_reached_and_never_deleted(sim_cluster, kube):
    from kubernetes import client  # pylint: disable=import-outside-toplevel

    run = Runner({"platform_cluster_provider": "existing", "platform_kubeconfig": str(sim_cluster[1])})
    reached = run("playbooks/cluster.yml")
    assert reached.rc == 0, reached.failure_messages
    said = reached.results("Say what the cluster is")["localhost"]["msg"]
    assert said.startswith("Kubernetes v1.34") and "OpenShift" not in said

    deleted = run("playbooks/cluster_delete.yml")
    assert deleted.rc == 0 and deleted.changed == 0, deleted.changed_tasks()
    assert client.VersionApi(kube).get_code().git_version.startswith("v1.34"), "the cluster still answers"


def test_existing_cluster_that_does_not_answer_fails_clearly(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "gone", "user": {}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}]}))
    result = Runner({"platform_cluster_provider": "existing", "platform_kubeconfig": str(kubeconfig)})("playbooks/cluster.yml")
    assert result.rc != 0 and result.changed == 0
    assert result.results("Reach the cluster's API server")["localhost"].get("failed")
