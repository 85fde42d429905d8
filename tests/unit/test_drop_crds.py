"""The Helm post-renderer that keeps CRDs out of Volcano's release (roles/volcano/files/drop-crds)."""

import subprocess

import yaml

from conftest import ROOT

MANIFEST = """---
# Source: volcano/templates/scheduler.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: volcano-scheduler
---
# Source: volcano/templates/crds.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: queues.scheduling.volcano.sh
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: volcano-scheduler-configmap
data:
  note: "kind: CustomResourceDefinition is only text here"
"""


def test_drops_every_crd_and_keeps_everything_else():
    out = subprocess.run([ROOT / "roles/volcano/files/drop-crds"], input=MANIFEST, capture_output=True, text=True,
                         check=True).stdout
    kinds = [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(out) if d]
    assert kinds == [("Deployment", "volcano-scheduler"), ("ConfigMap", "volcano-scheduler-configmap")]
