"""Every variable of every role's argument spec, given a bad value, fails the playbook that runs the role's preflight
before anything changes, and the failure names it. Bad values come from the spec (types, choices) and the role's
formats (vars/main.yml _<role>_formats, checked by mlops.platform.check_settings). No cluster is reached."""

import copy
import re

import pytest
import yaml

from conftest import Runner
from paths import ROOT

# The playbook whose preflight checks each role's variables first, and settings it needs to get there.
PLAYBOOKS = {"cluster": ("playbooks/cluster.yml", {"platform_cluster_provider": "existing", "cluster_provider": "existing",
                                                  "platform_kubeconfig": ""}),
             "sim_cluster": ("playbooks/cluster.yml", {"platform_cluster_provider": "sim", "cluster_provider": "sim"}),
             "model_release": ("playbooks/release.yml", {"model_release_revision": 1})}
BAD_FORMAT = {
    "dns_label": "Bad_Label", "dns_name": "bad..name", "helm_release": "r" * 60, "quantity": "10 GB",
    "duration": "ten minutes", "url": "not a url", "https_url": "http://plain.example", "cidr": "10.0.0.1",
    "ip": "not-an-ip", "registry": "Registry With Spaces", "image": {"repository": "Bad Repo", "tag": "1"},
    "port": 70000, "count": -1, "positive": 0, "text": "two\nlines", "image_reference": "Bad Image:1",
    "version": "1.2", "sha256": "abc", "host_port": "no-port", "endpoint": "bad host", "absolute_path": "relative/path",
    "prometheus_duration": "15 days", "storage_uri": "no-scheme", "jvm_memory": "1 GB",
}
BAD_TYPE = {"int": "not-a-number", "bool": "maybe", "dict": "not-a-dict", "list": {"not": "a list"}}
ROLES = sorted(p.parent.parent.name for p in (ROOT / "roles").glob("*/meta/argument_specs.yml"))


def role_files(role):
    """(options of the main entry point, formats, defaults) of a role."""
    spec = yaml.safe_load((ROOT / f"roles/{role}/meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    formats = yaml.safe_load((ROOT / f"roles/{role}/vars/main.yml").read_text())[f"_{role}_formats"]
    defaults = yaml.safe_load((ROOT / f"roles/{role}/defaults/main.yml").read_text()) or {}
    return spec, formats, defaults


def bad_formats(formats, defaults):
    """{variable: value} where each formatted path holds its format's bad value; the names the failure must say."""
    values, said = {}, set()
    for path, kind in formats.items():
        bad = BAD_FORMAT[kind.removesuffix("_or_empty")]
        name = re.split(r"[.\[]", path)[0]
        if path == name:
            values[name] = bad
            said.add(name)
        elif path == f"{name}[]":
            values[name] = [bad]
            said.add(f"{name}[0]")
        elif path.startswith(f"{name}[]."):
            key = path.split(".", 1)[1]
            values[name] = [{**copy.deepcopy((values.get(name) or defaults[name])[0]), key: bad}]
            said.add(f"{name}[0].{key}")
        else:
            key = path.split(".", 1)[1]
            values[name] = {**copy.deepcopy(values.get(name, defaults[name])), key: bad}
            said.add(path)
    return values, said


def bad_types(spec):
    """{variable: value} of a wrong type, or not one of its choices, for every variable that has either."""
    out = {}
    for name, option in spec.items():
        if "choices" in option:
            out[name] = "not-a-choice"
        elif option.get("type", "str") in BAD_TYPE:
            out[name] = BAD_TYPE[option.get("type", "str")]
    return out


@pytest.mark.parametrize("role", ROLES)
def test_a_bad_value_of_every_variable_fails_before_any_change_and_is_named(role):
    spec, formats, defaults = role_files(role)
    names = {p.split(".")[0].split("[")[0] for p in formats}
    assert names <= set(spec), f"formats of variables the spec does not have: {names - set(spec)}"
    uncovered = [n for n, o in spec.items() if n not in names and "choices" not in o and o.get("type", "str") in ("str", "path")]
    assert not uncovered, f"no way to tell a bad value of {uncovered}: give each a format (vars/main.yml _{role}_formats)"

    playbook, settings = PLAYBOOKS.get(role, ("playbooks/preflight.yml", {}))
    run = Runner({})
    typed = bad_types(spec)
    for values, wanted in (bad_formats(formats, defaults), (typed, set(typed))):
        result = run(playbook, {**settings, **values})
        assert result.rc != 0 and result.changed == 0, result.stdout[-2000:]
        said = " ".join(result.failure_messages)
        # Ours (check_settings), or Ansible's validation of the argument spec where a role is included as main.
        assert f"role {role}" in said or "Validation of arguments failed" in said, said
        assert not [w for w in wanted if w not in said], f"not named: {[w for w in wanted if w not in said]} in {said}"
