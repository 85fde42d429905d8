"""Which desired objects the cluster does not already hold as they are wanted."""

DOCUMENTATION = r"""
name: k8s_changed
short_description: The desired Kubernetes objects that are missing or differ in the cluster
description:
  - Returns the objects of O(_input) that have no live counterpart (same C(kind), C(metadata.namespace),
    C(metadata.name)) containing them. Every field the desired object sets must have the same value live;
    fields only the live object has (defaults, status, labels added by the API server) are ignored, and lists
    must have the same length with each element contained in its counterpart. C(apiVersion) is not compared (a
    kind is served at one version here; reads may leave it out).
  - Lets a converge send only what would change instead of applying every object every time.
  - Companion filters C(k8s_outside(objects, namespaces)) and C(k8s_within(objects, namespaces)) return the
    namespaced objects whose namespace is not one of O(namespaces), and the others (cluster-scoped ones included;
    all of them when O(namespaces) is null). Check mode cannot dry-run objects whose namespace the same run creates.
positional: _input, live
options:
  _input:
    description: The desired objects.
    type: list
    elements: dict
    required: true
  live:
    description: The objects read from the cluster (at least the fields the desired objects set).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Apply only what would change
  kubernetes.core.k8s:
    definition: "{{ wanted | mlops.platform.k8s_changed(found.resources) }}"
"""

RETURN = r"""
_value:
  description: The desired objects to apply, in input order.
  type: list
  elements: dict
"""


def _key(obj):
    meta = obj.get("metadata") or {}
    return obj.get("kind"), meta.get("namespace"), meta.get("name")


def contains(live, wanted):
    """True when every field of wanted has the same value in live (see DOCUMENTATION)."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(k in live and contains(live[k], v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(live, list) and len(live) == len(wanted) and all(map(contains, live, wanted))
    return live == wanted or str(live) == str(wanted)


def _outside(obj, namespaces):
    return (obj.get("metadata") or {}).get("namespace") not in (None, *namespaces)


def k8s_outside(objects, namespaces):
    """The namespaced objects whose namespace is not among namespaces."""
    return [o for o in objects or [] if namespaces is not None and _outside(o, namespaces)]


def k8s_within(objects, namespaces):
    """The objects that are cluster-scoped or in one of namespaces (all of them when namespaces is None)."""
    return [o for o in objects or [] if namespaces is None or not _outside(o, namespaces)]


def k8s_changed(desired, live):
    """See DOCUMENTATION."""
    found = {_key(o): o for o in live or []}
    return [o for o in desired or []
            if _key(o) not in found or not contains(found[_key(o)], {k: v for k, v in o.items() if k != "apiVersion"})]


class FilterModule:  # pylint: disable=too-few-public-methods
    """Comparison filters."""

    def filters(self):
        return {"k8s_changed": k8s_changed, "k8s_outside": k8s_outside, "k8s_within": k8s_within}
