"""The network baseline's peers: the API server's addresses and the cluster DNS, from what the API server lists."""

import sys

import pytest
from ansible.errors import AnsibleFilterError

from paths import ROOT

sys.path.insert(0, str(ROOT / "plugins" / "filter"))
from network_peers import api_peers, dns_peers, node_peers  # noqa: E402  pylint: disable=wrong-import-position

SLICE = {"endpoints": [{"addresses": ["172.18.0.3"]}, {"addresses": ["172.18.0.2"]}], "ports": [{"port": 6443}]}
SERVICE = {"spec": {"clusterIP": "10.96.0.1", "ports": [{"port": 443}]}}


def test_api_peers_are_the_endpoints_and_the_cluster_ip():
    assert api_peers([SLICE], [SERVICE]) == {
        "peers": [{"ipBlock": {"cidr": c}} for c in ("10.96.0.1/32", "172.18.0.2/32", "172.18.0.3/32")],
        "ports": [443, 6443]}


def test_api_peers_ipv6_and_given_cidrs():
    v6 = {"endpoints": [{"addresses": ["fd00::1"]}], "ports": [{"port": 6443}]}
    assert api_peers([v6], [])["peers"] == [{"ipBlock": {"cidr": "fd00::1/128"}}]
    assert api_peers([SLICE], [SERVICE], ["10.0.0.0/24"])["peers"] == [{"ipBlock": {"cidr": "10.0.0.0/24"}}]


def test_api_peers_refuse_to_allow_nothing():
    with pytest.raises(AnsibleFilterError, match="platform_kube_api_cidrs"):
        api_peers([], [{"spec": {"clusterIP": "None"}}])


def test_dns_peers_kube_system_openshift_and_node_local():
    kube = dns_peers([{"metadata": {"name": "kube-system"}}], [])
    assert kube == {"peers": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
                    "ports": [53]}
    openshift = dns_peers([{"metadata": {"name": "openshift-dns"}}], [])
    assert openshift["peers"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "openshift-dns"
    assert openshift["ports"] == [53, 5353], "OpenShift's DNS pods listen on 5353"
    cache = [{"metadata": {"name": "node-local-dns", "labels": {"k8s-app": "node-local-dns"}}}]
    assert dns_peers([], cache)["peers"][1:] == [{"ipBlock": {"cidr": "169.254.20.10/32"}}]
    assert dns_peers([], cache, "")["peers"][1:] == [], "an empty address never allows it"


def test_node_peers_are_the_nodes_internal_addresses_only():
    nodes = [{"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.5"}, {"type": "Hostname", "address": "n1"},
                                       {"type": "ExternalIP", "address": "203.0.113.9"}]}},
             {"status": {"addresses": [{"type": "InternalIP", "address": "fd00::5"}]}}, {"status": {}}, {}]
    assert node_peers(nodes) == [{"ipBlock": {"cidr": "10.0.0.5/32"}}, {"ipBlock": {"cidr": "fd00::5/128"}}]
    assert node_peers([{"status": {"addresses": [{"type": "Hostname", "address": "localhost"}]}}]) == []
