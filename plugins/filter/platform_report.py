"""Filters that turn what the API server holds into the platform's report: UI links, status rows, footprint."""

import re

DOCUMENTATION = r"""
name: ui_links
short_description: Links to the platform's web UIs found in the cluster
description:
  - For each UI looked up (O(_input), the results of a k8s_info loop over the UI catalogue) whose Service exists,
    a link to C(https://host) of an Ingress that routes to that Service, else the C(kubectl port-forward) command
    that reaches it. The credential is named as C(namespace/secret (keys)) when that Secret exists; values are never read.
  - Companion filters in this file take k8s_info C(resources) lists. C(status_sections) makes one row per custom
    object (its Ready condition or C(status.state)) from the results of a loop over (section, kind) pairs, leaving
    out empty sections; C(resource_footprint) sums requests per namespace against the nodes' allocatable;
    C(link_lines) and C(status_lines) format links and sections for the summary.
positional: _input, ingresses, secrets
options:
  _input:
    description:
      - k8s_info results (C(results) of a loop), each with C(item), a UI of the catalogue (title, about, selector,
        port, scheme, credential with secret and keys), and C(resources), its Services.
    type: list
    elements: dict
    required: true
  ingresses:
    description: Ingresses (k8s_info resources).
    type: list
    elements: dict
  secrets:
    description: C(namespace/name) of the Secrets that exist.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Links
  ansible.builtin.set_fact:
    links: "{{ ui_services.results | mlops.platform.ui_links(ingresses, secret_names) }}"
"""

RETURN = r"""
_value:
  description: C({title, about, url} or {title, about, command}), plus C(credential) when its Secret exists.
  type: list
  elements: dict
"""

_UNITS = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "m": 1e-3,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity(value):
    """A Kubernetes resource quantity ("250m", "1.5Gi", "2") as a float in base units."""
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value).strip())
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"not a resource quantity: {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


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


def ui_links(lookups, ingresses=None, secrets=None):
    """See DOCUMENTATION."""
    published = _ingress_hosts(ingresses)
    links = []
    for lookup in lookups or []:
        ui, found = lookup["item"], lookup.get("resources") or []
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
        if credential and f"{namespace}/{credential['secret']}" in (secrets or []):
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


def status_sections(lookups):
    """Status sections from k8s_info results of a loop over (section, kind) pairs: one row per object with its
    Ready condition, status.state or 'no status yet'. Sections with no objects are left out (not deployed)."""
    sections = {}
    for lookup in lookups or []:
        section = lookup["item"][0]
        entry = sections.setdefault(section["title"], {"title": section["title"], "command": section.get("command", ""),
                                                       "rows": []})
        entry["rows"].extend(_rows(lookup.get("resources")))
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
    """Requests of the running pods per namespace (only namespaces, when given) against the nodes' allocatable.

    Returns {namespaces: {ns: {pods, cpu, memory}}, total: {pods, cpu, memory}, allocatable: {nodes, cpu, memory},
    share: {cpu, memory}} with cpu in cores and memory in GiB, rounded.
    """
    per_ns = {}
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
        "allocatable": rounded(allocatable),
        "share": {r: round(100 * total[r] / allocatable[r], 1) if allocatable[r] else None for r in ("cpu", "memory")},
    }


class FilterModule:  # pylint: disable=too-few-public-methods
    """Report filters."""

    def filters(self):
        return {"ui_links": ui_links, "status_sections": status_sections, "link_lines": link_lines, "status_lines": status_lines, "resource_footprint": resource_footprint}
