"""Where the platform's baseline NetworkPolicies let pods reach the Kubernetes API and the cluster DNS."""

DOCUMENTATION = r"""
name: api_peers
short_description: The Kubernetes API server's addresses and ports, for an egress NetworkPolicy
description:
  - From the EndpointSlices and the Service C(default/kubernetes) (as mlops.platform.k8s_read lists them), the
    peers (C(ipBlock) CIDRs of one address each) and the ports a pod uses to reach the API server, so that the
    policy admits the API server and nothing else on the internet. The Service's cluster IP and port are included
    too (network plugins that judge a connection before its address is translated see those).
  - O(cidrs), when not empty, replaces the discovered addresses (API servers whose addresses change, e.g. some
    managed control planes; list their ranges).
  - Companion filter C(dns_peers(namespaces, daemonsets, node_local_ip)) gives the DNS servers' peers and ports,
    OpenShift's (namespace C(openshift-dns), which listens on 5353) when that namespace exists, else kube-system's
    on 53; plus NodeLocal DNSCache's link-local address when its DaemonSet (C(k8s-app=node-local-dns)) runs.
  - Fails when no address is found and none is given (a policy with no peer would cut every controller off).
  - Companion filter C(node_peers(nodes)) gives the nodes' C(InternalIP) addresses as peers (where the kubelet and
    host-network exporters such as node-exporter listen); none when no node reports one.
positional: _input, services, cidrs
options:
  _input:
    description: EndpointSlices of the Service C(kubernetes) (C(endpoints), C(ports)).
    type: list
    elements: dict
    required: true
  services:
    description: The Service C(default/kubernetes) (C(spec.clusterIP), C(spec.ports)), in a list.
    type: list
    elements: dict
    required: true
  cidrs:
    description: CIDRs to use instead of the discovered addresses.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Peers of the allow-kube-api policy
  ansible.builtin.debug:
    msg: "{{ slices | mlops.platform.api_peers(services, platform_kube_api_cidrs) }}"
"""

RETURN = r"""
_value:
  description: C(peers), NetworkPolicy peers of one C(ipBlock) each, and C(ports), sorted port numbers.
  type: dict
"""

from ansible.errors import AnsibleFilterError

OPENSHIFT_DNS = "openshift-dns"
NODE_LOCAL_DNS_LABEL = ("k8s-app", "node-local-dns")


def _cidr(address):
    return address if "/" in address else f"{address}/{128 if ':' in address else 32}"


def api_peers(slices, services, cidrs=None):
    addresses, ports = set(), {443}
    for endpoint_slice in slices or []:
        for endpoint in endpoint_slice.get("endpoints") or []:
            addresses.update(endpoint.get("addresses") or [])
        ports.update(p["port"] for p in endpoint_slice.get("ports") or [] if p.get("port"))
    for service in services or []:
        spec = service.get("spec") or {}
        if spec.get("clusterIP") not in (None, "", "None"):
            addresses.add(spec["clusterIP"])
        ports.update(p["port"] for p in spec.get("ports") or [])
    if cidrs:
        addresses = set(cidrs)
    if not addresses:
        raise AnsibleFilterError(
            "found no address of the Kubernetes API server (EndpointSlices of default/kubernetes): "
            "set platform_kube_api_cidrs to its address ranges")
    return {"peers": [{"ipBlock": {"cidr": _cidr(a)}} for a in sorted(addresses)], "ports": sorted(ports)}


def dns_peers(namespaces, daemonsets, node_local_ip="169.254.20.10"):
    names = {n.get("metadata", {}).get("name") for n in namespaces or []}
    openshift = OPENSHIFT_DNS in names
    peers = [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": OPENSHIFT_DNS if openshift else "kube-system"}}}]
    node_local = any((d.get("metadata", {}).get("labels") or {}).get(NODE_LOCAL_DNS_LABEL[0]) == NODE_LOCAL_DNS_LABEL[1]
                     for d in daemonsets or [])
    if node_local and node_local_ip:
        peers.append({"ipBlock": {"cidr": _cidr(node_local_ip)}})
    return {"peers": peers, "ports": [53, 5353] if openshift else [53]}


def node_peers(nodes):
    addresses = {a["address"] for n in nodes or [] for a in (n.get("status") or {}).get("addresses") or []
                 if a.get("type") == "InternalIP" and a.get("address")}
    return [{"ipBlock": {"cidr": _cidr(a)}} for a in sorted(addresses)]


class FilterModule:
    def filters(self):
        return {"api_peers": api_peers, "dns_peers": dns_peers, "node_peers": node_peers}
