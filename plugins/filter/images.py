"""Image filters for air-gapped installs: where an image lives in the mirror, and which images a manifest names."""

import re

DOCUMENTATION = r"""
name: mirrored
short_description: The reference of an image in the platform's mirror registry
description:
  - C(registry/path:tag) becomes C(<mirror>/path:tag); Docker Hub short names (C(postgres:17)) get their
    C(library/) path. An empty O(mirror) returns the reference unchanged. Same rule as the post-renderer
    C(roles/platform/files/post-render).
  - Companion filter C(manifest_images) returns the sorted unique values of every C(image:) key of a
    multi-document manifest.
positional: _input, mirror
options:
  _input:
    description: An image reference (or repository).
    type: str
    required: true
  mirror:
    description: The mirror registry (C(host[:port][/prefix])).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Where the images go
  ansible.builtin.debug:
    msg: "{{ 'docker.io/apache/spark:3.5.6' | mlops.platform.mirrored('registry.example:5000/mlops') }}"
    # registry.example:5000/mlops/apache/spark:3.5.6
"""

RETURN = r"""
_value:
  description: The mirrored reference.
  type: str
"""

# An `image:` line of block-style YAML as Helm writes it; the post-renderer rewrites the ref group.
IMAGE_LINE = re.compile(r"^(?P<lead>[ \t]*(?:-[ \t]+)?image:[ \t]*)(?P<quote>[\"']?)(?P<ref>[^\s\"'{}\[\]]+)(?P=quote)[ \t]*$",
                        re.MULTILINE)


def mirrored(ref, mirror):
    """See DOCUMENTATION."""
    if not mirror:
        return ref
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        path = rest
    else:
        path = ref if rest else f"library/{ref}"
    return f"{mirror.rstrip('/')}/{path}"


def manifest_images(text):
    """Sorted unique images named by `image:` keys of a rendered manifest (block-style YAML, as Helm writes)."""
    return sorted({m["ref"] for m in IMAGE_LINE.finditer(text or "")})


class FilterModule:  # pylint: disable=too-few-public-methods
    """Image filters."""

    def filters(self):
        return {"mirrored": mirrored, "manifest_images": manifest_images}
