"""Image filters for air-gapped installs: where an image lives in the mirror, and which images a manifest names."""

import re

DOCUMENTATION = r"""
name: mirrored
short_description: The reference of an image in the platform's mirror registry
description:
  - C(registry/path:tag) becomes C(<mirror>/path:tag); Docker Hub short names (C(postgres:17)) get their
    C(library/) path. An empty O(mirror) returns the reference unchanged. Same rule as the post-renderer
    C(roles/platform/files/post-render).
  - A reference already in the mirror is returned unchanged (charts with a registry value of their own,
    pointed at the mirror, are not mirrored twice).
  - Companion filter C(manifest_images) returns the sorted unique images a multi-document manifest names, that is
    every C(image) key, and the images operators start at run time named in container arguments
    (C(--...image...=<ref>), or any C(--flag=<registry>/<path>:<tag>)) and in environment variables whose name
    contains C(IMAGE).
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
    if not mirror or ref.startswith(mirror.rstrip("/") + "/"):
        return ref
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        path = rest
    else:
        path = ref if rest else f"library/{ref}"
    return f"{mirror.rstrip('/')}/{path}"


# --...image...=<ref>, or any --flag=<registry/path:tag> (e.g. --prometheus-config-reloader=quay.io/...:v0.93.0).
IMAGE_ARG = re.compile(r"^--[a-z0-9-]*image[a-z0-9-]*=(?P<ref>\S+)$"
                       r"|^--[a-z0-9-]+=(?P<tagged>[a-z0-9][a-z0-9.-]*(:[0-9]+)?/[a-z0-9._/-]+(:\w[\w.-]*|@sha256:[0-9a-f]+))$")
# A Docker image reference: [host[:port]/]path[:tag][@sha256:digest].
IMAGE_REF = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:\w[\w.-]*)?(@sha256:[0-9a-f]+)?$")


def _named_images(node):
    """Image references in one parsed object: `image` keys, image arguments, *IMAGE* environment variables."""
    if isinstance(node, list):
        for item in node:
            yield from _named_images(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                yield value
            elif key in ("args", "command") and isinstance(value, list):
                yield from (m["ref"] or m["tagged"] for m in map(IMAGE_ARG.match, map(str, value)) if m)
            elif key == "env" and isinstance(value, list):
                for env in value:
                    if isinstance(env, dict) and "IMAGE" in str(env.get("name", "")) and isinstance(env.get("value"), str):
                        yield from (token.rpartition("=")[2] for token in env["value"].split())
            else:
                yield from _named_images(value)


def manifest_images(text):
    """Sorted unique images a rendered multi-document manifest names (see DOCUMENTATION)."""
    import yaml  # pylint: disable=import-outside-toplevel  (the post-renderer imports this module without PyYAML)

    found = {ref for doc in yaml.safe_load_all(text or "") if doc for ref in _named_images(doc)}
    return sorted(ref for ref in found if IMAGE_REF.match(ref))


class FilterModule:  # pylint: disable=too-few-public-methods
    """Image filters."""

    def filters(self):
        return {"mirrored": mirrored, "manifest_images": manifest_images}
