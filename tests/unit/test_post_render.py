"""The Helm post-renderer of every release (roles/platform/files/post-render): drops CRDs, mirrors images."""

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

PODS = """---
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      initContainers:
        - {name: flow-style-is-left-alone, image: busybox}
      containers:
        - name: db
          image: postgres:17.6
        - image: "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
          name: minio
        - name: own
          image: mlops-platform/mlflow:3.17.2
        - name: pinned
          image: registry.k8s.io/volume-nfs@sha256:0123
        - name: local
          image: localhost:5000/x/y:1
"""


def post_render(text, **env):
    return subprocess.run([ROOT / "roles/platform/files/post-render"], input=text, capture_output=True, text=True,
                          check=True, env={"PATH": "/usr/bin:/bin", **env}).stdout


def test_drops_every_crd_and_keeps_everything_else():
    out = post_render(MANIFEST, MLOPS_DROP_CRDS="1")
    kinds = [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(out) if d]
    assert kinds == [("Deployment", "volcano-scheduler"), ("ConfigMap", "volcano-scheduler-configmap")]


def test_without_settings_the_manifest_passes_unchanged():
    assert post_render(MANIFEST) == MANIFEST
    assert post_render(PODS, MLOPS_DROP_CRDS="0", MLOPS_IMAGE_MIRROR="") == PODS


def test_mirror_rewrites_every_image_key_keeping_the_path():
    out = post_render(PODS, MLOPS_IMAGE_MIRROR="mirror.test:5000/mlops/")
    containers = yaml.safe_load(out)["spec"]["template"]["spec"]["containers"]
    assert [c["image"] for c in containers] == [
        "mirror.test:5000/mlops/library/postgres:17.6",
        "mirror.test:5000/mlops/minio/minio:RELEASE.2025-09-07T16-13-09Z",
        "mirror.test:5000/mlops/mlops-platform/mlflow:3.17.2",
        "mirror.test:5000/mlops/volume-nfs@sha256:0123",
        "mirror.test:5000/mlops/x/y:1",
    ]
    assert "image: busybox}" in out, "flow-style mappings are not rewritten (Helm output of our charts is block style)"
