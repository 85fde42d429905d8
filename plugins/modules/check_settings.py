#!/usr/bin/python
"""Documentation of the check_settings action (plugins/action/check_settings.py), which runs on the controller."""

DOCUMENTATION = r"""
module: check_settings
short_description: Check a role's variables against its argument spec and the value formats Kubernetes expects
description:
  - Reads the calling role's C(meta/argument_specs.yml) and checks the type, choices, list elements and
    sub-options of every variable of the entry point that is set, with Ansible's own argument spec validator.
    Defaults and C(required) are not applied; the values come from the role's defaults and the inventory.
  - Then checks the formats given in O(formats) (DNS labels and names, quantities, durations, URLs, CIDRs, images,
    ports...) and fails once, naming every bad variable and what a good value is.
  - Runs first in every role's C(tasks/preflight.yml), so bad input fails before anything changes. Never changes
    anything; supports check mode.
options:
  formats:
    description:
      - Variable path to format name. Paths are C(name), C(name.key), C(name[]) (each element) and C(name[].key).
      - Formats are those of C(plugins/module_utils/formats.py), each also as C(<format>_or_empty).
    type: dict
    default: {}
  entry_point:
    description: Entry point of the argument spec.
    type: str
    default: main
  role:
    description: Path of the role whose argument spec is read; the calling role by default.
    type: path
attributes:
  check_mode:
    support: full
author:
  - mlops.platform developers
"""

EXAMPLES = r"""
- name: Check the settings against the role's argument spec and value formats
  mlops.platform.check_settings:
    formats:
      mlflow_namespace: dns_label
      mlflow_database_size: quantity
      mlflow_service_users[]: dns_label
"""

RETURN = r"""
checked:
  description: The variables that were set and checked.
  type: list
  elements: str
  returned: always
"""
