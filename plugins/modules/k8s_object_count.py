#!/usr/bin/python
"""Count the objects of several kinds in one call (one module start-up instead of one per kind)."""

DOCUMENTATION = r"""
module: k8s_object_count
short_description: Count the objects of several Kubernetes kinds, cluster-wide, in one call
description:
  - For each I(api_version)/I(kind), counts its objects in all namespaces and returns a few of their names.
  - A kind the API server does not serve counts as zero.
  - With O(skip_terminating_namespaces), objects in a namespace that is being deleted are not counted, as they go
    with it (a teardown removes the CRDs while the platform's namespaces are still being deleted).
  - Read-only; supports check mode. Authenticates like M(kubernetes.core.k8s_info).
options:
  resources:
    description: The kinds to count.
    type: list
    elements: dict
    required: true
    suboptions:
      api_version:
        description: Group/version, e.g. C(scheduling.volcano.sh/v1beta1).
        type: str
        required: true
      kind:
        description: Kind, e.g. C(Queue).
        type: str
        required: true
  skip_terminating_namespaces:
    description: Do not count objects of namespaces whose deletion has started.
    type: bool
    default: false
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
author:
  - mlops.platform developers
"""

EXAMPLES = r"""
- name: Are any Volcano queues or jobs left?
  mlops.platform.k8s_object_count:
    resources:
      - {api_version: scheduling.volcano.sh/v1beta1, kind: Queue}
      - {api_version: batch.volcano.sh/v1alpha1, kind: Job}
  register: left
"""

RETURN = r"""
counts:
  description: One entry per requested kind, in order.
  returned: always
  type: list
  elements: dict
  contains:
    api_version: {description: As requested., type: str}
    kind: {description: As requested., type: str}
    served: {description: Whether the API server serves the kind., type: bool}
    count: {description: Number of objects., type: int}
    examples: {description: Up to three objects as C(namespace/name) or C(name)., type: list, elements: str}
total:
  description: Sum of all counts.
  returned: always
  type: int
"""

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService


def _object_ref(obj):
    meta = obj.get("metadata", {})
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta.get("name", "")


def main():
    """Module entry point."""
    args = copy.deepcopy(AUTH_ARG_SPEC)
    args["resources"] = {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {"api_version": {"type": "str", "required": True}, "kind": {"type": "str", "required": True}},
    }
    args["skip_terminating_namespaces"] = {"type": "bool", "default": False}
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=args, supports_check_mode=True)
    try:
        svc = K8sService(get_api_client(module), module)
        terminating = set()
        if module.params["skip_terminating_namespaces"]:
            terminating = {n["metadata"]["name"] for n in svc.find("Namespace", "v1").get("resources", [])
                           if n["metadata"].get("deletionTimestamp")}
        counts = []
        for wanted in module.params["resources"]:
            found = svc.find(wanted["kind"], wanted["api_version"])
            objects = [o for o in found.get("resources", [])
                       if o.get("metadata", {}).get("namespace") not in terminating]
            counts.append({
                **wanted,
                "served": bool(found.get("api_found")),
                "count": len(objects),
                "examples": [_object_ref(o) for o in objects[:3]],
            })
    except CoreException as err:
        module.fail_from_exception(err)
    module.exit_json(changed=False, counts=counts, total=sum(c["count"] for c in counts))


if __name__ == "__main__":
    main()
