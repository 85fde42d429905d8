"""The values a platform release is installed with, and which releases differ from what Helm has deployed."""

import json
import re
from datetime import datetime, timezone

DOCUMENTATION = r"""
name: release_values
short_description: The values a platform Helm release is installed and rendered with
description:
  - The release's C(values), with the image mirror recorded under C(global.mlopsPlatform.imageMirror) when
    O(mirror.registry) is set, so that setting or changing the mirror changes the values (kubernetes.core.helm
    compares values, and the post-renderer that rewrites images is invisible to it).
  - Companion filter C(helm_changes(releases, records, charts, mirror)) returns the releases that need Helm, each with
    a C(reason), from the release records Helm keeps in Secrets (as mlops.platform.k8s_read's C(helm_records) gives them).
    For C(state=present) a release that is not installed, whose newest revision is not C(deployed), whose chart
    version differs from C(charts[chart].version) or whose values differ from C(release_values) (the comparison
    kubernetes.core.helm makes; the reason names the values that change, secret-looking ones masked); for
    C(state=absent) a release of which any revision exists. A release whose newest revision was left
    C(pending-install), C(pending-upgrade), C(pending-rollback) or C(uninstalling) by an interrupted run gets
    C(recovery) (C(uninstall) or C(rollback)) when that operation cannot still be running (older than the
    timeout, the optional 5th argument, a Go duration; or the 6th argument, recover, is true), else C(busy). A converge with
    nothing to do then makes no Helm call. C(helm_levels(releases, charts)) lists their dependency levels
    (C(charts[chart].level)), ascending; C(duration_seconds) turns a Go duration (C(10m)) into seconds.
positional: _input, mirror
options:
  _input:
    description: A release of the platform's release lists (C(name), C(namespace), C(chart), C(values)).
    type: dict
    required: true
  mirror:
    description: C(platform_mirror).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Values of the MLflow release
  ansible.builtin.debug:
    msg: "{{ _mlflow_releases[0] | mlops.platform.release_values(platform_mirror) }}"
"""

RETURN = r"""
_value:
  description: The values (a new dict; the input is not changed).
  type: dict
"""


def _newest(records):
    newest = {}
    for record in records or []:
        key = (record["namespace"], record["name"])
        if key not in newest or int(record["revision"]) > int(newest[key]["revision"]):
            newest[key] = record
    return newest


def _normal(value):
    return json.loads(json.dumps(value, sort_keys=True))


SECRET_KEY = re.compile(r"(?i)(password|passwd|token|secretkey|privatekey|credential)")


def value_changes(old, new, path=""):
    """Dotted paths whose values differ between two values trees, as "path: old -> new" (secret-looking keys masked,
    whole subtrees that appear or disappear shown as added/removed)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            here = f"{path}.{key}" if path else str(key)
            if key not in old:
                found.append(f"{here}: added")
            elif key not in new:
                found.append(f"{here}: removed")
            else:
                found += value_changes(old[key], new[key], here)
        return found
    if old == new:
        return []
    if SECRET_KEY.search(path.rsplit(".", 1)[-1]):
        return [f"{path}: (secret) changed"]
    return [f"{path}: {json.dumps(old)} -> {json.dumps(new)}"]


PENDING = {"pending-install": "uninstall", "uninstalling": "uninstall", "pending-upgrade": "rollback",
           "pending-rollback": "rollback"}


def seconds(duration):
    """A Go duration (1h2m3s) in seconds."""
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in re.findall(r"([0-9]+)([hms])", duration))


def _age(updated, now):
    try:
        started = datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1", str(updated)).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (now - started).total_seconds()


def _pending(release, record, timeout, recover, now):
    """A release whose last operation was left pending: recovered when that operation cannot still be running."""
    age = _age(record.get("updated"), now)
    since = f" for {int(age // 60)}m" if age is not None else ""
    base = {**release, "pending": record["status"]}
    if recover or (age is not None and age > seconds(timeout)):
        action = "uninstall" if release.get("state") == "absent" else PENDING[record["status"]]
        return {**base, "recovery": action,
                "reason": f"revision {record['revision']} {record['status']}{since}, interrupted: {action} first"}
    return {**base, "busy": True,
            "reason": f"revision {record['revision']} {record['status']}{since}: another operation may still run"}


def helm_changes(releases, records, charts, mirror, timeout="10m", recover=False):
    """See DOCUMENTATION."""
    newest, now = _newest(records), datetime.now(timezone.utc)
    todo = []
    for release in releases or []:
        record = newest.get((release["namespace"], release["name"]))
        if record and record["status"] in PENDING:
            todo.append(_pending(release, record, timeout, recover, now))
            continue
        if release.get("state", "present") == "absent":
            if record:
                todo.append({**release, "reason": "installed"})
            continue
        if not record:
            todo.append({**release, "reason": "not installed"})
            continue
        status, deployed_version = record["status"], record["chart_version"]
        wanted_version = str(charts[release["chart"]]["version"])
        if status != "deployed":
            reason = f"revision {record['revision']} is {status}"
        elif deployed_version != wanted_version:
            reason = f"chart {deployed_version} -> {wanted_version}"
        elif _normal(record["config"]) != _normal(release_values(release, mirror)):
            changes = value_changes(_normal(record["config"]), _normal(release_values(release, mirror)))
            reason = "values changed: " + "; ".join(changes[:3]) + (f"; and {len(changes) - 3} more" if len(changes) > 3 else "")
        else:
            continue
        todo.append({**release, "reason": reason})
    return todo


def helm_levels(releases, charts):
    """The dependency levels (charts[chart].level) of the releases, ascending, each once."""
    return sorted({charts[r["chart"]]["level"] for r in releases or []})


def _merged(base, extra):
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merged(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def release_values(release, mirror):
    """See DOCUMENTATION."""
    values = release.get("values") or {}
    registry = (mirror or {}).get("registry") or ""
    return _merged(values, {"global": {"mlopsPlatform": {"imageMirror": registry}}}) if registry else dict(values)


class FilterModule:  # pylint: disable=too-few-public-methods
    """Release filters."""

    def filters(self):
        return {"release_values": release_values, "helm_changes": helm_changes, "helm_levels": helm_levels,
                "duration_seconds": seconds}
