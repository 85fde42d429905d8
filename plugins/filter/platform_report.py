"""Filters that turn what the API server holds into the platform's report: UI links, status rows, footprint."""

DOCUMENTATION = r"""
name: ui_links
short_description: Links to the platform's web UIs found in the cluster
description:
  - For each UI of the catalogue (O(_input)) whose Service exists (a Service matching the UI's label selector),
    a link to C(https://host) of an Ingress that routes to that Service, else the C(kubectl port-forward) command
    that reaches it. The credential is named as C(namespace/secret (keys)) when that Secret exists; values are never read.
  - Companion filters in this file take lists of Kubernetes objects. C(status_kinds) turns the status catalogue
    into mlops.platform.k8s_read entries, C(status_sections) makes one row per custom object (its Ready condition or
    C(status.state)) from that read, leaving out empty sections; C(resource_footprint) sums requests per namespace
    against the nodes' allocatable; C(operator_pods) adds the pods operators start from custom objects (Prometheus,
    Alertmanager, Kafka node pools, Seldon's runtime and servers) that are not running yet; C(link_lines) and C(status_lines) format links and sections for the summary.
positional: _input, services, ingresses, secrets
options:
  _input:
    description: The UI catalogue (title, about, selector, port, scheme, credential with secret and keys).
    type: list
    elements: dict
    required: true
  services:
    description: Services of the cluster.
    type: list
    elements: dict
    required: true
  ingresses:
    description: Ingresses of the cluster.
    type: list
    elements: dict
  secrets:
    description: Secrets that exist (only their metadata is read).
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: Links
  ansible.builtin.set_fact:
    links: "{{ _platform_uis | mlops.platform.ui_links(services, ingresses, secrets) }}"
"""

RETURN = r"""
_value:
  description: C({title, about, url} or {title, about, command}), plus C(credential) when its Secret exists.
  type: list
  elements: dict
"""

def quantity(value):
    """A Kubernetes resource quantity ("250m", "1.5Gi", "2") as a float in base units (the client's parser)."""
    # Imported here, not at the top: importing the kubernetes client costs ~0.6 s, and Ansible loads every filter
    # file of the collection in each task that uses any of its filters (it made every such task 0.5 s slower).
    from kubernetes.utils import parse_quantity  # pylint: disable=import-outside-toplevel
    return float(parse_quantity(value))


def _ingress_hosts(ingresses):
    hosts = {}
    for ing in ingresses or []:
        namespace = ing["metadata"]["namespace"]
        tls_hosts = {h for t in ing.get("spec", {}).get("tls") or [] for h in t.get("hosts") or []}
        for rule in ing.get("spec", {}).get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                service = path.get("backend", {}).get("service", {}).get("name")
                if service and rule.get("host"):
                    scheme = "https" if rule["host"] in tls_hosts else "http"
                    hosts.setdefault((namespace, service), f"{scheme}://{rule['host']}{path.get('path', '/').rstrip('/')}")
    return hosts


def _matches(obj, selector):
    """True when the object's labels satisfy a selector string of key=value terms joined by commas."""
    labels = obj["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, _, v in (term.partition("=") for term in selector.split(",") if term))


def ui_links(uis, services, ingresses=None, secrets=None):
    """See DOCUMENTATION."""
    published = _ingress_hosts(ingresses)
    existing = {f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in secrets or []}
    links = []
    for ui in uis or []:
        found = [s for s in services or [] if _matches(s, ui["selector"])]
        if not found:
            continue
        # Charts make several Services with the same labels (e.g. headless ones): prefer one with the UI's port.
        service = sorted(found, key=lambda s: (ui.get("port") not in [p["port"] for p in s["spec"].get("ports") or []],
                                               s["metadata"]["namespace"], s["metadata"]["name"]))[0]
        namespace, name = service["metadata"]["namespace"], service["metadata"]["name"]
        ports = [p["port"] for p in service["spec"].get("ports") or []]
        port = ui.get("port") if ui.get("port") in ports else (ports[0] if ports else 80)
        link = {"title": ui["title"], "about": ui.get("about", "")}
        if (namespace, name) in published:
            link["url"] = published[(namespace, name)]
        else:
            local = 8443 if ui.get("scheme") == "https" else 8080
            link["command"] = (f"kubectl -n {namespace} port-forward svc/{name} {local}:{port}, then "
                               f"{ui.get('scheme', 'http')}://localhost:{local}")
        credential = ui.get("credential")
        if credential and f"{namespace}/{credential['secret']}" in existing:
            link["credential"] = f"{namespace}/{credential['secret']} ({', '.join(credential['keys'])})"
        links.append(link)
    return links


def link_lines(links):
    """One line per link: where the UI is and where its login lives."""
    lines = []
    for link in links or []:
        where = link.get("url") or link.get("command", "")
        login = f"; login in Secret {link['credential']}" if link.get("credential") else ""
        lines.append(f"{link['title']}: {where}{login}")
    return lines


def status_lines(sections):
    """One line per object of the status sections: section title, object, state."""
    return [f"{s['title']}: {row['name']}: {row['state']}" for s in sections or [] for row in s["rows"]]


def status_kinds(catalogue):
    """mlops.platform.k8s_read entries for every kind of the status catalogue, in order."""
    return [{"api_version": section["api_version"], "kind": kind, "keep": ["kind", "metadata.name", "metadata.namespace", "status"]}
            for section in catalogue or [] for kind in section["kinds"]]


def status_sections(catalogue, reads):
    """Status sections from the k8s_read results of status_kinds(catalogue), in the same order: one row per object
    with its Ready condition, status.state or 'no status yet'. Sections with no objects are left out (not deployed)."""
    sections = {}
    pairs = [(section, kind) for section in catalogue or [] for kind in section["kinds"]]
    for (section, _kind), read in zip(pairs, reads or []):
        entry = sections.setdefault(section["title"], {"title": section["title"], "command": section.get("command", ""),
                                                       "rows": []})
        entry["rows"].extend(_rows(read.get("resources")))
    return [dict(e, rows=sorted(e["rows"], key=lambda r: r["name"])) for e in sections.values() if e["rows"]]


def _rows(objects):
    rows = []
    for obj in objects or []:
        meta = obj["metadata"]
        name = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
        status = obj.get("status") or {}
        ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
        if ready:
            state = "Ready" if ready[0].get("status") == "True" else f"Not ready: {ready[0].get('reason') or ready[0].get('message', '')}"
        else:
            state = status.get("state") or "no status yet"
        rows.append({"name": f"{name} ({obj['kind']})", "state": str(state)})
    return rows


def _containers(containers, requests):
    """Containers of a pod spec with their requests replaced (when given)."""
    return [{**c, "resources": {"requests": requests}} if requests is not None else c for c in containers or []]


def operator_pods(custom_objects, pods):
    """Pods the platform's operators start from custom objects, as pod-like dicts for resource_footprint, for those
    not running yet (no live pod in the namespace named <workload>-...): Prometheus and Alertmanager
    (spec.resources, replicas), Strimzi KafkaNodePools (spec.resources, replicas; pods <cluster>-<pool>-N), the
    components of SeldonConfigs that SeldonRuntimes run (podSpec requests, replicas, disabled ones left out) and
    Seldon Servers (their ServerConfig's podSpec requests, replicas). Each has metadata.planned_by."""
    by_kind = {}
    for obj in custom_objects or []:
        by_kind.setdefault(obj["kind"], []).append(obj)
    running = {(p["metadata"]["namespace"], p["metadata"].get("name", "")) for p in pods or []}

    def started(namespace, prefix):
        return any(ns == namespace and name.startswith(prefix + "-") for ns, name in running)

    planned = []

    def plan(namespace, workload, replicas, containers, planned_by):
        if not started(namespace, workload):
            planned.extend({"metadata": {"namespace": namespace, "name": f"{workload}-{i}", "planned_by": planned_by},
                            "spec": {"containers": containers}, "status": {"phase": "Pending"}}
                           for i in range(int(replicas if replicas is not None else 1)))

    for kind, prefix in (("Prometheus", "prometheus"), ("Alertmanager", "alertmanager")):
        for obj in by_kind.get(kind, []):
            meta, spec = obj["metadata"], obj.get("spec") or {}
            plan(meta["namespace"], f"{prefix}-{meta['name']}", spec.get("replicas"),
                 [{"name": prefix, "resources": spec.get("resources") or {}}], f"{kind}/{meta['name']}")
    for obj in by_kind.get("KafkaNodePool", []):
        meta, spec = obj["metadata"], obj.get("spec") or {}
        cluster = (meta.get("labels") or {}).get("strimzi.io/cluster", "")
        plan(meta["namespace"], f"{cluster}-{meta['name']}", spec.get("replicas"),
             [{"name": "kafka", "resources": spec.get("resources") or {}}], f"KafkaNodePool/{meta['name']}")
    configs = {c["metadata"]["name"]: c for c in by_kind.get("SeldonConfig", [])}
    for runtime in by_kind.get("SeldonRuntime", []):
        spec, namespace = runtime.get("spec") or {}, runtime["metadata"]["namespace"]
        overrides = {o["name"]: o for o in spec.get("overrides") or []}
        config = configs.get(spec.get("seldonConfig", "default"), {}).get("spec") or {}
        for component in config.get("components") or []:
            override = overrides.get(component["name"], {})
            if override.get("disable"):
                continue
            plan(namespace, component["name"], override.get("replicas", component.get("replicas")),
                 _containers(component["podSpec"]["containers"], None), f"SeldonRuntime/{runtime['metadata']['name']}")
    server_configs = {c["metadata"]["name"]: c for c in by_kind.get("ServerConfig", [])}
    for server in by_kind.get("Server", []):
        meta, spec = server["metadata"], server.get("spec") or {}
        config = server_configs.get(spec.get("serverConfig"), {}).get("spec") or {}
        plan(meta["namespace"], meta["name"], spec.get("replicas"),
             _containers((config.get("podSpec") or {}).get("containers"), None), f"Server/{meta['name']}")
    return planned


def _pod_requests(pod):
    spec = pod.get("spec", {})

    def total(containers, resource):
        return [quantity(c.get("resources", {}).get("requests", {}).get(resource, 0)) for c in containers or []]

    out = {}
    for resource in ("cpu", "memory"):
        main = sum(total(spec.get("containers"), resource))
        init = max(total(spec.get("initContainers"), resource), default=0)
        out[resource] = max(main, init) + quantity((spec.get("overhead") or {}).get(resource, 0))
    return out


def resource_footprint(pods, nodes, namespaces=None):
    """Requests of the pods per namespace (only namespaces, when given) against the nodes' allocatable; pods that
    operators will start (operator_pods) count too, and also under not_started.

    Returns {namespaces: {ns: {pods, cpu, memory}}, total: {pods, cpu, memory}, not_started: {pods, cpu, memory},
    allocatable: {nodes, cpu, memory}, share: {cpu, memory}} with cpu in cores and memory in GiB, rounded.
    """
    per_ns, not_started = {}, {"pods": 0, "cpu": 0.0, "memory": 0.0}
    for pod in pods or []:
        if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            continue
        namespace = pod["metadata"]["namespace"]
        if namespaces is not None and namespace not in namespaces:
            continue
        requests = _pod_requests(pod)
        entry = per_ns.setdefault(namespace, {"pods": 0, "cpu": 0.0, "memory": 0.0})
        entry["pods"] += 1
        entry["cpu"] += requests["cpu"]
        entry["memory"] += requests["memory"]
        if pod["metadata"].get("planned_by"):
            not_started["pods"] += 1
            not_started["cpu"] += requests["cpu"]
            not_started["memory"] += requests["memory"]
    allocatable = {
        "nodes": len(nodes or []),
        "cpu": sum(quantity(n["status"]["allocatable"].get("cpu", 0)) for n in nodes or []),
        "memory": sum(quantity(n["status"]["allocatable"].get("memory", 0)) for n in nodes or []),
    }
    total = {"pods": sum(e["pods"] for e in per_ns.values()),
             "cpu": sum(e["cpu"] for e in per_ns.values()),
             "memory": sum(e["memory"] for e in per_ns.values())}

    def rounded(entry):
        return {**entry, "cpu": round(entry["cpu"], 3), "memory": round(entry["memory"] / 2**30, 3)}

    return {
        "namespaces": {ns: rounded(e) for ns, e in sorted(per_ns.items())},
        "total": rounded(total),
        "not_started": rounded(not_started),
        "allocatable": rounded(allocatable),
        "share": {r: round(100 * total[r] / allocatable[r], 1) if allocatable[r] else None for r in ("cpu", "memory")},
    }


class FilterModule:  # pylint: disable=too-few-public-methods
    """Report filters."""

    def filters(self):
        return {"ui_links": ui_links, "status_kinds": status_kinds, "operator_pods": operator_pods, "status_sections": status_sections, "link_lines": link_lines, "status_lines": status_lines, "resource_footprint": resource_footprint}
