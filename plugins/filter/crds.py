"""Which pinned CRDs need applying, and the stamp that records which pinned file a CRD came from."""

DOCUMENTATION = r"""
name: crds_pending
short_description: The pinned CRDs that need a server-side apply
description:
  - From the crds role's catalog entries (C([component, file]) pairs, the file with C(crd) and C(sha256)) and the
    CRDs in the cluster (their metadata, and status when read), the entries whose CRD is missing, carries another
    file's stamp (annotation C(mlops.platform/crd-sha256)), is not C(Established) (when its status was read), or
    has fields set by a field manager other than O(field_manager) since (a chart that installed it, a hand edit;
    status updates do not count).
  - Companion filter C(crd_stamped(definition, sha256)) returns a CRD definition with that stamp added.
positional: _input, crds, field_manager
options:
  _input:
    description: "Catalog entries, C([{key: component, value: ...}, file])."
    type: list
    elements: list
    required: true
  crds:
    description: The CRDs in the cluster (at least C(metadata) and C(status)).
    type: list
    elements: dict
    required: true
  field_manager:
    description: The platform's field manager.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: CRDs to apply
  ansible.builtin.set_fact:
    todo: "{{ _crds_entries | mlops.platform.crds_pending(found.resources, 'mlops-platform') }}"
"""

RETURN = r"""
_value:
  description: The entries that need applying, in catalog order.
  type: list
  elements: list
"""

STAMP = "mlops.platform/crd-sha256"


def _current(crd, sha256, field_manager):
    meta = crd.get("metadata") or {}
    if (meta.get("annotations") or {}).get(STAMP) != sha256:
        return False
    established = "status" not in crd or any(c.get("type") == "Established" and c.get("status") == "True"
                                             for c in crd["status"].get("conditions") or [])
    others = [m for m in meta.get("managedFields") or []
              if m.get("manager") != field_manager and m.get("subresource") != "status"]
    return established and not others


def crds_pending(entries, crds, field_manager):
    """See DOCUMENTATION."""
    live = {c["metadata"]["name"]: c for c in crds or []}
    return [e for e in entries or []
            if e[1]["crd"] not in live or not _current(live[e[1]["crd"]], e[1]["sha256"], field_manager)]


def crd_stamped(definition, sha256):
    """A copy of the CRD definition with the stamp of the pinned file it comes from."""
    meta = dict(definition.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), STAMP: sha256}
    return {**definition, "metadata": meta}


class FilterModule:  # pylint: disable=too-few-public-methods
    """CRD filters."""

    def filters(self):
        return {"crds_pending": crds_pending, "crd_stamped": crd_stamped}
