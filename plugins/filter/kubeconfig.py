"""kubeconfig_merge: put one cluster's admin kubeconfig into another kubeconfig, replacing only its own entries."""

import copy

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: kubeconfig_merge
short_description: Merge a cluster's kubeconfig into an existing one under one name
description:
  - Takes the first cluster, user and context of O(new) (e.g. k3s's C(/etc/rancher/k3s/k3s.yaml), all named
    C(default)), renames all three to O(name), points the cluster at O(server), and adds them to O(_input),
    replacing entries of that name. Other clusters, users and contexts are kept. The merged context becomes current.
positional: _input, new
options:
  _input:
    description: The existing kubeconfig (a mapping; empty for none).
    type: dict
    required: true
  new:
    description: The kubeconfig to merge in.
    type: dict
    required: true
  name:
    description: Name of the cluster, user and context.
    type: str
    required: true
  server:
    description: API server URL replacing the one in O(new) (k3s writes https://127.0.0.1:6443).
    type: str
"""

EXAMPLES = r"""
- name: Merge k3s's admin kubeconfig
  ansible.builtin.copy:
    dest: ~/.kube/config
    content: "{{ existing | mlops.platform.kubeconfig_merge(k3s_admin, name='mlops', server='https://10.0.0.10:6443') | to_nice_yaml }}"
    mode: "0600"
"""

RETURN = r"""
_value:
  description: The merged kubeconfig.
  type: dict
"""


def _entry(config, section):
    entries = config.get(section) or []
    if not entries:
        raise AnsibleFilterError(f"kubeconfig_merge: the new kubeconfig has no {section}")
    return copy.deepcopy(entries[0])


def kubeconfig_merge(existing, new, name, server=None):
    """The merged kubeconfig (see DOCUMENTATION)."""
    merged = copy.deepcopy(existing or {})
    merged.setdefault("apiVersion", "v1")
    merged.setdefault("kind", "Config")
    cluster, user, context = (_entry(new, s) for s in ("clusters", "users", "contexts"))
    cluster["name"] = user["name"] = context["name"] = name
    if server:
        cluster["cluster"]["server"] = server
    context["context"] = {**context.get("context", {}), "cluster": name, "user": name}
    for section, entry in (("clusters", cluster), ("users", user), ("contexts", context)):
        merged[section] = [e for e in merged.get(section) or [] if e.get("name") != name] + [entry]
    merged["current-context"] = name
    return merged


class FilterModule:  # pylint: disable=too-few-public-methods
    """Kubeconfig filters."""

    def filters(self):
        return {"kubeconfig_merge": kubeconfig_merge}
