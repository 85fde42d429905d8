"""Checks a role's variables against its meta/argument_specs.yml (types, choices, elements, sub-options: Ansible's own
validator) and the value formats Kubernetes expects (formats option), all at once, before anything changes."""

from pathlib import Path

import yaml
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.mlops.platform.plugins.module_utils.formats import FORMATS, check_format, paths

# Keys of an argument spec option that say how a value is documented or defaulted, not what it may be.
_NOT_CHECKS = ("default", "description", "required", "version_added")


def _checks_only(options):
    """The option specs without defaults (values come from the role's defaults) or documentation."""
    out = {}
    for name, option in options.items():
        spec = {k: v for k, v in option.items() if k not in _NOT_CHECKS}
        if "options" in spec:
            spec["options"] = _checks_only(spec["options"])
        out[name] = spec
    return out


class ActionModule(ActionBase):  # pylint: disable=too-few-public-methods
    """See plugins/modules/check_settings.py."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("role", "entry_point", "formats"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result["changed"] = False
        args = self._task.args
        role_path = Path(self._templar.template(args["role"]) if "role" in args else self._task._role._role_path)
        entry = args.get("entry_point", "main")
        formats = self._templar.template(args.get("formats", {}))
        unknown = sorted(set(formats.values()) - set(FORMATS))
        if unknown:
            raise AnsibleActionFail(f"check_settings: unknown formats {unknown}; known: {sorted(FORMATS)}")
        options = yaml.safe_load((role_path / "meta/argument_specs.yml").read_text())["argument_specs"][entry]["options"]
        values = {name: self._templar.template(task_vars[name]) for name in options if name in task_vars}

        problems = [str(e) for e in ArgumentSpecValidator(_checks_only(options)).validate(values).errors]
        for path, kind in formats.items():
            name = path.split(".")[0].split("[")[0]
            if name not in values or any(f"'{name}'" in problem for problem in problems):
                continue  # unset, or already said to be of the wrong type
            for where, value in paths(values, path):
                problem = check_format(kind, value)
                if problem:
                    problems.append(f"{where}: {value!r} is not {problem}")
        result["checked"] = sorted(values)
        if problems:
            result["failed"] = True
            result["msg"] = f"Bad settings of role {role_path.name}: " + "; ".join(problems)
        return result
