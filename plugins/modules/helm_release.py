#!/usr/bin/python
"""Documentation of the helm_release action (plugins/action/helm_release.py); the code is kubernetes.core.helm."""

DOCUMENTATION = r"""
module: helm_release
short_description: kubernetes.core.helm, also in the background (async)
description:
  - Runs M(kubernetes.core.helm) with the same options and results. Unlike it, it accepts C(async) (with C(poll)
    0 and M(ansible.builtin.async_status)), so that several releases install, upgrade or uninstall at once.
  - The platform installs the releases of one dependency level this way (roles/platform/tasks/helm_level.yml).
  - Check mode as M(kubernetes.core.helm) (without C(async)).
options: {}
notes:
  - Every option of M(kubernetes.core.helm) is accepted and passed on unchanged.
author:
  - mlops.platform developers
"""

EXAMPLES = r"""
- name: Install two releases at once
  mlops.platform.helm_release:
    name: "{{ item }}"
    chart_ref: ./charts/{{ item }}
    release_namespace: "{{ item }}"
    wait: true
  loop: [mlflow, spark]
  async: 900
  poll: 0
  register: started

- name: Wait for both
  ansible.builtin.async_status:
    jid: "{{ item.ansible_job_id }}"
  loop: "{{ started.results }}"
  register: job
  until: job.finished
  retries: 900
  delay: 1
"""

RETURN = r"""
status:
  description: As M(kubernetes.core.helm) returns it.
  returned: always
  type: dict
"""
