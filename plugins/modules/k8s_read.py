#!/usr/bin/python
"""Read the objects of several Kubernetes kinds in one call (one module start-up instead of one per kind)."""

DOCUMENTATION = r"""
module: k8s_read
short_description: List the objects of several Kubernetes kinds in one call
description:
  - For each entry of O(resources), lists the objects of its I(api_version)/I(kind), in one namespace or in all,
    optionally filtered by labels, and returns them in the same order. A kind the API server does not serve
    lists no objects.
  - The platform reads what a converge needs to decide (CRDs, Secrets, Helm releases, volumes, Services) with one
    call of this module instead of one M(kubernetes.core.k8s_info) per kind and namespace; changes are still made
    by the kubernetes.core modules.
  - Read-only; supports check mode. Authenticates like M(kubernetes.core.k8s_info).
options:
  resources:
    description: The kinds to list.
    type: list
    elements: dict
    required: true
    suboptions:
      api_version:
        description: Group/version, e.g. C(v1) or C(scheduling.volcano.sh/v1beta1).
        type: str
        required: true
      kind:
        description: Kind, e.g. C(Secret).
        type: str
        required: true
      namespace:
        description: Only this namespace; all namespaces when omitted.
        type: str
      label_selectors:
        description: Label selectors, all of which must match (as M(kubernetes.core.k8s_info)'s).
        type: list
        elements: str
        default: []
      name:
        description: Only the object of this name.
        type: str
      keep:
        description:
          - Fields of each object to return, as dotted paths (e.g. C([metadata.name, metadata.labels, spec.ports]));
            the whole object when omitted. Less data returned is less for Ansible to template.
        type: list
        elements: str
      helm_records:
        description:
          - The objects are Helm's release Secrets; return each as its decoded release record instead, without the
            manifest - C(name), C(namespace), C(revision), C(status), C(chart) (name), C(chart_version) and
            C(config) (the values it was installed with), C(updated) (when its last operation started).
        type: bool
        default: false
      metadata_only:
        description:
          - Ask the API server for the objects' metadata only (C(PartialObjectMetadataList)), which is far
            smaller for large objects such as CRDs; C(kind) and C(apiVersion) of each object are then the
            metadata list's.
        type: bool
        default: false
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
author:
  - mlops.platform developers
"""

EXAMPLES = r"""
- name: Services and Ingresses of the cluster, and the platform's Secrets without their data
  mlops.platform.k8s_read:
    resources:
      - {api_version: v1, kind: Service}
      - {api_version: networking.k8s.io/v1, kind: Ingress}
      - {api_version: v1, kind: Secret, label_selectors: [app.kubernetes.io/managed-by=mlops.platform], keep: [metadata]}
  register: found
"""

RETURN = r"""
results:
  description: One entry per requested kind, in order.
  returned: always
  type: list
  elements: dict
  contains:
    api_version: {description: As requested., type: str}
    kind: {description: As requested., type: str}
    served: {description: Whether the API server serves the kind., type: bool}
    resources:
      description:
        - The objects (only the O(resources[].keep) fields when given). C(metadata.managedFields) entries keep only
          C(manager), C(operation) and C(subresource).
      type: list
      elements: dict
"""

import base64
import copy
import gzip
import json

from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService

try:
    from kubernetes.dynamic.exceptions import NotFoundError
except ImportError:  # the kubernetes client is missing: AnsibleK8SModule fails with a clear message first
    NotFoundError = Exception

RESOURCE_OPTIONS = {
    "api_version": {"type": "str", "required": True},
    "kind": {"type": "str", "required": True},
    "namespace": {"type": "str"},
    "label_selectors": {"type": "list", "elements": "str", "default": []},
    "name": {"type": "str"},
    "keep": {"type": "list", "elements": "str"},
    "metadata_only": {"type": "bool", "default": False},
    "helm_records": {"type": "bool", "default": False},
}
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


def _list(client, resource, wanted):
    params = {"namespace": wanted["namespace"], "label_selector": ",".join(wanted["label_selectors"]) or None}
    if wanted["name"]:
        params["field_selector"] = f"metadata.name={wanted['name']}"
    if wanted["metadata_only"]:
        params["header_params"] = {"Accept": METADATA_ONLY}
    items = client.get(resource, **params).to_dict().get("items") or []
    if not wanted["metadata_only"]:
        for item in items:  # list items carry no kind of their own
            item.setdefault("apiVersion", resource.group_version)
            item.setdefault("kind", resource.kind)
    return items


def _projected(obj, paths):
    """Only the dotted paths of obj (missing ones are left out)."""
    out = {}
    for path in paths:
        keys, node = path.split("."), obj
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                break
        if node is not None:
            target = out
            for key in keys[:-1]:
                target = target.setdefault(key, {})
            target[keys[-1]] = node
    return out


def _slim(obj):
    """managedFields reduced to who changed what kind of thing (their field sets are large)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and meta.get("managedFields"):
        meta["managedFields"] = [{k: m.get(k) for k in ("manager", "operation", "subresource")}
                                 for m in meta["managedFields"]]
    return obj


def _helm_record(secret):
    """Helm's release record (base64 of base64 of gzipped JSON) without its manifest."""
    raw = base64.b64decode(base64.b64decode(secret["data"]["release"]))
    release = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    metadata = (release.get("chart") or {}).get("metadata") or {}
    return {"name": release.get("name"), "namespace": release.get("namespace"), "revision": release.get("version"),
            "status": (release.get("info") or {}).get("status"), "chart": metadata.get("name"),
            "chart_version": metadata.get("version"), "config": release.get("config") or {},
            "updated": (release.get("info") or {}).get("last_deployed")}


def main():
    """Module entry point."""
    args = copy.deepcopy(AUTH_ARG_SPEC)
    args["resources"] = {"type": "list", "elements": "dict", "required": True, "options": RESOURCE_OPTIONS}
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=args, supports_check_mode=True)
    try:
        client = get_api_client(module)
        svc = K8sService(client, module)
        results = []
        for wanted in module.params["resources"]:
            resource = svc.find_resource(wanted["kind"], wanted["api_version"])
            try:
                objects = [_slim(o) for o in _list(client, resource, wanted)] if resource else []
            except NotFoundError:  # a kind the discovery cache still names, but no longer served (CRD deleted)
                resource, objects = None, []
            if wanted["helm_records"]:
                objects = [_helm_record(o) for o in objects]
            elif wanted["keep"]:
                objects = [_projected(o, wanted["keep"]) for o in objects]
            results.append({"api_version": wanted["api_version"], "kind": wanted["kind"],
                            "served": bool(resource), "resources": objects})
    except CoreException as err:
        module.fail_from_exception(err)
    except Exception as err:  # pylint: disable=broad-exception-caught  (the client's API errors, connection errors)
        module.fail_json(msg=f"Reading {wanted['api_version']}/{wanted['kind']} failed: {err}")
    module.exit_json(changed=False, results=results)


if __name__ == "__main__":
    main()
