"""The portal, the summary at the end of site.yml, the image list for mirroring and the one-variable mirror,
against the real API server: what the page and the summary show is what the cluster holds, every image of every
release manifest and every pod is in the list, and with the mirror set every one of them comes from the mirror."""

import base64
import json
import subprocess

import yaml
from kubernetes import client
from kubernetes.utils import parse_quantity

from conftest import PURGE
from paths import HELM

COMPONENTS = {"cert_manager": True, "mlflow": True, "spark": True, "volcano": True, "portal": True}
SETTINGS = {"platform_components": COMPONENTS,
            "crds_components": ["cert-manager", "trust-manager", "prometheus-operator", "volcano"]}
MIRROR = "mirror.test:5000/mlops"


def release_images(kubeconfig):
    """Every `image:` of every Helm release's stored manifest, with the collection's own image reader."""
    from images import manifest_images  # pylint: disable=import-outside-toplevel  (plugins/filter, on sys.path)

    releases = json.loads(subprocess.run([HELM, "list", "-A", "-o", "json", "--kubeconfig", kubeconfig],
                                         check=True, capture_output=True, text=True).stdout)
    assert {r["name"] for r in releases} >= {"platform-pki", "mlflow", "spark", "training", "portal"}
    return {image for r in releases for image in manifest_images(subprocess.run(
        [HELM, "get", "manifest", r["name"], "-n", r["namespace"], "--kubeconfig", kubeconfig],
        check=True, capture_output=True, text=True).stdout)}


def pod_images(core):
    """Images of every live pod outside kube-system, read from the API."""
    return {c.image for p in core.list_pod_for_all_namespaces().items
            if p.metadata.namespace != "kube-system" and p.metadata.deletion_timestamp is None
            for c in (p.spec.containers or []) + (p.spec.init_containers or [])}


def image_list(run, tmp_path, settings):
    """{source image: mirror image} as playbooks/images.yml writes it."""
    listing = tmp_path / f"images-{len(list(tmp_path.iterdir()))}.yml"
    result = run("playbooks/images.yml", {**settings, "platform_images_file": str(listing)})
    assert result.rc == 0 and result.changed <= 1, result.failure_messages
    return yaml.safe_load(listing.read_text())


def independent_footprint(core):
    """CPU cores requested by the live pods of the platform's namespaces, and the nodes' allocatable cores."""
    namespaces = {n.metadata.name for n in core.list_namespace(label_selector="app.kubernetes.io/part-of=mlops-platform").items}
    cpu = sum(parse_quantity((c.resources.requests or {}).get("cpu", "0"))
              for p in core.list_pod_for_all_namespaces().items
              if p.metadata.namespace in namespaces and p.status.phase not in ("Succeeded", "Failed")
              for c in p.spec.containers)
    allocatable = sum(parse_quantity(n.status.allocatable["cpu"]) for n in core.list_node().items)
    return float(cpu), float(allocatable), namespaces


def test_portal_summary_image_list_and_mirror(run, kube, core, sim_cluster, tmp_path):
    import sys  # pylint: disable=import-outside-toplevel
    from paths import ROOT  # pylint: disable=import-outside-toplevel
    sys.path.insert(0, str(ROOT / "plugins" / "filter"))
    kubeconfig = str(sim_cluster[1])
    objects, net = client.CustomObjectsApi(kube), client.NetworkingV1Api(kube)
    try:
        deployed = run("playbooks/deploy.yml", SETTINGS)
        assert deployed.rc == 0, deployed.failure_messages

        # The page links what is deployed, and only that; logins by Secret name.
        page = core.read_namespaced_config_map("portal-page", "portal").data["index.html"]
        assert "Spark master" in page and "svc/spark-master 8080:8080" in page
        assert "MLflow" in page and "mlflow/mlflow-admin (username, password)" in page
        assert "Grafana" not in page and "Jaeger" not in page, "observability is not deployed"
        assert "training (Queue)" in page, "Volcano's queues are shown"
        ingress = net.read_namespaced_ingress("portal", "portal")
        assert ingress.spec.rules[0].host == "portal.mlops.test"
        assert ingress.spec.tls[0].secret_name == "portal-tls"
        certificate = objects.get_namespaced_custom_object("cert-manager.io", "v1", "portal", "certificates", "portal-tls")
        assert certificate["spec"]["issuerRef"]["name"] == "mlops-platform-ca"
        assert certificate["spec"]["dnsNames"] == ["portal.mlops.test"]

        # The summary: URLs, Secret names, never values; the footprint as the API server counts it.
        summary = run("playbooks/summary.yml", SETTINGS)
        assert summary.rc == 0 and summary.changed == 0, summary.failure_messages
        said = summary.results("Summary")["localhost"]["msg"]
        assert "Portal: https://portal.mlops.test" in said["user_interfaces"]
        assert any(line.startswith("MLflow: kubectl -n mlflow port-forward") and "mlflow/mlflow-admin" in line
                   for line in said["user_interfaces"])
        password = base64.b64decode(core.read_namespaced_secret("mlflow-admin", "mlflow").data["password"]).decode()
        assert password not in summary.stdout and password not in summary.stderr
        cpu, allocatable, namespaces = independent_footprint(core)
        footprint = said["footprint"]
        assert set(footprint["namespaces"]) <= namespaces and {"mlflow", "spark", "portal"} <= set(footprint["namespaces"])
        assert abs(footprint["total"]["cpu"] - cpu) < 0.001 and footprint["allocatable"]["cpu"] == allocatable
        assert footprint["total"]["cpu"] > 0

        # Every image of every release manifest and of every pod is in the list.
        listed = image_list(run, tmp_path, SETTINGS)
        in_cluster = release_images(kubeconfig) | pod_images(core)
        assert in_cluster and in_cluster <= set(listed["images"]), in_cluster - set(listed["images"])
        assert "mlops-platform/launcher:0.1.0" in listed["images"], "TorchX's default image, named in a ConfigMap"
        assert listed["charts"]["portal"] == {"own": True, "version": "0.1.0"}

        # One variable: every image from the mirror, as listed; the release upgrades and then settles.
        mirror = {**SETTINGS, "platform_mirror": {"registry": MIRROR}}
        moved = run("playbooks/deploy.yml", mirror)
        assert moved.rc == 0 and moved.changed > 0, moved.failure_messages
        listed = image_list(run, tmp_path, mirror)
        assert all(target.startswith(MIRROR + "/") for target in listed["images"].values())
        in_cluster = release_images(kubeconfig) | pod_images(core)
        assert in_cluster <= set(listed["images"].values()), in_cluster - set(listed["images"].values())
        torchx = core.read_namespaced_config_map("training-launcher", "training").data[".torchxconfig"]
        assert f"image = {MIRROR}/mlops-platform/launcher:0.1.0" in torchx
        again = run("playbooks/deploy.yml", mirror)
        assert again.rc == 0 and again.changed == 0, again.changed_tasks()
        checked = run("playbooks/deploy.yml", mirror, check=True)
        assert checked.rc == 0 and checked.changed == 0, checked.changed_tasks()
    finally:
        down = run("playbooks/teardown.yml", {**SETTINGS, **PURGE})
        assert down.rc == 0, down.failure_messages
