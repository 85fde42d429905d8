"""from_k8s_yaml: parse a multi-document Kubernetes manifest the way the API machinery does.

PyYAML (and so ansible's from_yaml_all) rejects a bare ``=`` scalar, which YAML 1.1 reserves for the
``!!value`` tag; upstream CRDs use it as an enum value (prometheus-operator's AlertmanagerConfig).
Kubernetes reads it as the string "=", and so does this filter. Empty documents are dropped.
"""

import yaml
from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: from_k8s_yaml
short_description: Parse a multi-document Kubernetes manifest into a list of objects
description:
  - Like C(from_yaml_all), but a bare C(=) scalar is read as the string C(=), as Kubernetes reads it.
  - Empty documents are dropped.
positional: _input
options:
  _input:
    description: The manifest text.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Apply every object of a manifest
  kubernetes.core.k8s:
    definition: "{{ lookup('ansible.builtin.file', 'crds.yaml') | mlops.platform.from_k8s_yaml }}"
"""

RETURN = r"""
_value:
  description: The objects of the manifest, in order.
  type: list
  elements: dict
"""

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _KubernetesLoader(_BaseLoader):  # pylint: disable=too-many-ancestors
    """Safe loader that reads the YAML 1.1 value key ('=') as a plain string."""


_KubernetesLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def from_k8s_yaml(text):
    """Return the non-empty documents of ``text``."""
    try:
        return [doc for doc in yaml.load_all(str(text), Loader=_KubernetesLoader) if doc]
    except yaml.YAMLError as err:
        raise AnsibleFilterError(f"from_k8s_yaml: not a valid manifest: {err}") from err


class FilterModule:  # pylint: disable=too-few-public-methods
    """Kubernetes manifest filters."""

    def filters(self):
        """Map filter names to functions."""
        return {"from_k8s_yaml": from_k8s_yaml}
