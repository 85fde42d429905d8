"""Air-gapped installs on the whole platform: the image list names every image any release or pod uses, and with
one variable (platform_mirror.registry) every one of them, upstream charts and images operators start included,
comes from the mirror exactly once."""

import json
import subprocess
import sys

import pytest
import yaml
from kubernetes import client

from paths import HELM, ROOT

MIRROR = "mirror.test:5000/mlops"


@pytest.fixture(scope="module")
def image_reader():
    sys.path.insert(0, str(ROOT / "plugins" / "filter"))
    from images import manifest_images  # pylint: disable=import-outside-toplevel
    return manifest_images


def release_images(kubeconfig, manifest_images):
    """Every image each Helm release's stored manifest names (image keys, image arguments, *IMAGE* variables)."""
    releases = json.loads(subprocess.run([HELM, "list", "-A", "-o", "json", "--kubeconfig", kubeconfig],
                                         check=True, capture_output=True, text=True).stdout)
    assert len(releases) >= 18
    return {image for r in releases for image in manifest_images(subprocess.run(
        [HELM, "get", "manifest", r["name"], "-n", r["namespace"], "--kubeconfig", kubeconfig],
        check=True, capture_output=True, text=True).stdout)}


def pod_images(core):
    """Images of every live pod outside kube-system."""
    return {c.image for p in core.list_pod_for_all_namespaces().items
            if p.metadata.namespace != "kube-system" and p.metadata.deletion_timestamp is None
            for c in (p.spec.containers or []) + (p.spec.init_containers or [])}


def image_list(platform, tmp_path, settings=None):
    """{source image: mirror image} as playbooks/images.yml writes it."""
    listing = tmp_path / f"images-{len(list(tmp_path.iterdir()))}.yml"
    result = platform.run("playbooks/images.yml", {**(settings or {}), "platform_images_file": str(listing)})
    assert result.rc == 0 and result.changed <= 1, result.failure_messages
    return yaml.safe_load(listing.read_text())


def test_every_image_of_every_release_and_pod_is_listed(platform, platform_kube, tmp_path, image_reader):
    listed = image_list(platform, tmp_path)
    in_cluster = release_images(platform.kubeconfig, image_reader) | pod_images(client.CoreV1Api(platform_kube))
    assert len(in_cluster) >= 40 and in_cluster <= set(listed["images"]), in_cluster - set(listed["images"])
    assert "registry.mlops.test/mlops-platform/launcher:0.1.0" in listed["images"], "TorchX's default image, in a ConfigMap"
    assert "quay.io/strimzi/kafka:0.47.0-kafka-3.9.0" in listed["images"], "Strimzi starts Kafka from an environment variable"
    assert listed["charts"]["portal"]["own"] is True
    assert listed["charts"]["kube-prometheus-stack"]["version"] == "88.3.0"


def test_one_variable_pulls_every_image_from_the_mirror_exactly_once(platform, platform_kube, tmp_path, image_reader):
    mirror = {"platform_mirror": {"registry": MIRROR}}
    moved = platform.run("playbooks/deploy.yml", mirror)
    assert moved.rc == 0 and moved.changed > 0, moved.failure_messages
    listed = image_list(platform, tmp_path, mirror)
    targets = set(listed["images"].values())
    assert all(t.startswith(MIRROR + "/") and t.count("mirror.test") == 1 for t in targets)
    core = client.CoreV1Api(platform_kube)
    in_cluster = release_images(platform.kubeconfig, image_reader) | pod_images(core)
    twice = sorted(i for i in in_cluster if i.count("/mlops/mlops/") or i.count("mirror.test") > 1)
    assert not twice, twice
    assert in_cluster <= targets, sorted(in_cluster - targets)
    torchx = core.read_namespaced_config_map("training-launcher", "training").data[".torchxconfig"]
    assert f"image = {MIRROR}/mlops-platform/launcher:0.1.0" in torchx
    again = platform.run("playbooks/deploy.yml", mirror)
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    checked = platform.run("playbooks/deploy.yml", mirror, check=True)
    assert checked.rc == 0 and checked.changed == 0, checked.changed_tasks()
