"""The pods a check-mode preview counts: releases rendered by helm template, turned into pods (pure functions)."""

import sys

from paths import ROOT

sys.path.insert(0, str(ROOT / "plugins" / "filter"))
from planned_pods import rendered_objects, workload_pods  # noqa: E402  pylint: disable=wrong-import-position
from platform_report import operator_pods, resource_footprint  # noqa: E402  pylint: disable=wrong-import-position

MANIFEST = """
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: web, resources: {requests: {cpu: 250m, memory: 64Mi}}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: agents}
spec:
  template:
    spec:
      containers: [{name: agent, resources: {requests: {cpu: 10m}}}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      containers: [{name: once, resources: {requests: {cpu: "4"}}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: test
  annotations: {helm.sh/hook: test}
spec:
  containers: [{name: test, resources: {requests: {cpu: "8"}}}]
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: main}
spec: {replicas: 1, resources: {requests: {cpu: 500m, memory: 1Gi}}}
"""
NODES = [{"status": {"allocatable": {"cpu": "4", "memory": "8Gi"}}}] * 3


def test_rendered_objects_take_the_release_namespace_and_leave_hooks_out():
    objects = rendered_objects([{"stdout": MANIFEST, "item": {"namespace": "apps"}}])
    assert [(o["kind"], o["metadata"]["namespace"]) for o in objects] == [
        ("Deployment", "apps"), ("DaemonSet", "agents"), ("Job", "apps"), ("Prometheus", "apps")]


def test_workload_pods_count_replicas_and_one_per_node_but_no_job():
    pods = workload_pods(rendered_objects([{"stdout": MANIFEST, "item": {"namespace": "apps"}}]), NODES)
    assert sorted(p["metadata"]["planned_by"] for p in pods) == ["DaemonSet/agent"] * 3 + ["Deployment/web"] * 2


def test_the_footprint_of_a_plan_counts_workloads_and_what_operators_start():
    objects = rendered_objects([{"stdout": MANIFEST, "item": {"namespace": "apps"}}])
    pods = workload_pods(objects, NODES)
    footprint = resource_footprint(pods + operator_pods(objects, pods), NODES)
    assert footprint["namespaces"]["apps"] == {"pods": 3, "cpu": 1.0, "memory": 1.125}
    assert footprint["namespaces"]["agents"] == {"pods": 3, "cpu": 0.03, "memory": 0.0}
    assert footprint["not_started"]["pods"] == 6, "a plan has started nothing"
