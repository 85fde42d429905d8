"""The pods a plan would run, from its releases rendered by helm template: the footprint of a check-mode preview."""

import yaml

DOCUMENTATION = r"""
name: workload_pods
short_description: The pods that rendered workloads would run
description:
  - For each Deployment, StatefulSet and ReplicaSet of O(_input), C(spec.replicas) (default 1) pod-like dicts of
    its pod template; for each DaemonSet, one per node of O(nodes). Each has C(metadata.planned_by)
    (C(<kind>/<name>)), so that mlops.platform.resource_footprint counts it as not started. Jobs are left out (they
    finish, as a running platform's completed pods do not count).
  - Companion filter C(rendered_objects(results)) turns the results of C(helm template) runs (each with C(stdout),
    the manifest, and C(item.namespace), the release's namespace) into objects, each with its namespace (the
    release's when the chart sets none, as Helm applies it), Helm hooks left out.
  - With mlops.platform.operator_pods on the same objects, the footprint of the plan rather than of what runs.
positional: _input, nodes
options:
  _input:
    description: Rendered objects (mlops.platform.rendered_objects).
    type: list
    elements: dict
    required: true
  nodes:
    description: The cluster's nodes (a DaemonSet runs one pod on each).
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: Pods of the planned releases
  ansible.builtin.set_fact:
    pods: "{{ rendered.results | mlops.platform.rendered_objects | mlops.platform.workload_pods(nodes) }}"
"""

RETURN = r"""
_value:
  description: Pod-like dicts (C(metadata.namespace), C(metadata.name), C(metadata.planned_by), C(spec), C(status.phase)).
  type: list
  elements: dict
"""

REPLICATED = ("Deployment", "StatefulSet", "ReplicaSet")


def rendered_objects(results):
    """Objects of helm template results, with the release's namespace where the chart sets none; hooks left out."""
    objects = []
    for result in results or []:
        for obj in yaml.safe_load_all(result.get("stdout") or ""):
            if not isinstance(obj, dict) or "helm.sh/hook" in ((obj.get("metadata") or {}).get("annotations") or {}):
                continue
            obj.setdefault("metadata", {}).setdefault("namespace", result["item"]["namespace"])
            objects.append(obj)
    return objects


def workload_pods(objects, nodes=None):
    """See DOCUMENTATION."""
    pods = []
    for obj in objects or []:
        kind, meta, spec = obj.get("kind"), obj.get("metadata") or {}, obj.get("spec") or {}
        if kind in REPLICATED:
            count = spec.get("replicas", 1)
        elif kind == "DaemonSet":
            count = len(nodes or [])
        else:
            continue
        template = (spec.get("template") or {}).get("spec") or {}
        pods.extend({"metadata": {"namespace": meta["namespace"], "name": f"{meta['name']}-{i}",
                                  "planned_by": f"{kind}/{meta['name']}"},
                     "spec": template, "status": {"phase": "Pending"}} for i in range(int(count)))
    return pods


class FilterModule:  # pylint: disable=too-few-public-methods
    """Planned pod filters."""

    def filters(self):
        return {"rendered_objects": rendered_objects, "workload_pods": workload_pods}
