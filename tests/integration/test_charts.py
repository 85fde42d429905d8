"""Our charts render to objects the real API server accepts against the real upstream CRDs."""

import subprocess
from pathlib import Path

import pytest
import yaml
from kubernetes import client, dynamic

from conftest import PURGE, ROOT

CHARTS = sorted(p for p in (ROOT / "charts").iterdir() if (p / "Chart.yaml").is_file())
# CRDs each chart's objects need, by component of the crds role.
NEEDS = {"platform-pki": ["cert-manager", "trust-manager"], "mlflow": ["cert-manager", "prometheus-operator"],
         "platform-observability": ["prometheus-operator"]}
# Namespace of the release: objects without metadata.namespace land there, as with helm install.
RELEASE_NAMESPACE = "chart-test"
HELM = Path.home() / ".cache/mlops-platform/sim/bin/helm"


def chart_cases():
    for chart in CHARTS:
        for values in sorted((chart / "ci").glob("*-values.yaml")):
            yield pytest.param(chart, values, id=f"{chart.name}:{values.stem}")


@pytest.mark.parametrize(("chart", "values"), chart_cases())
def test_rendered_objects_are_accepted_by_the_api_server(run, kube, chart, values, sim_cluster):
    components = NEEDS.get(chart.name, [])
    if components:
        assert run("playbooks/deploy.yml", {"crds_components": components}, tags="crds").rc == 0
    rendered = subprocess.run(
        [HELM, "template", "release", chart, "-f", values, "--namespace", RELEASE_NAMESPACE, "--kubeconfig",
         sim_cluster[1], "--validate"],
        check=True, capture_output=True, text=True).stdout
    objects = [o for o in yaml.safe_load_all(rendered) if o]
    assert objects, "the chart renders objects"

    api = dynamic.DynamicClient(kube)
    core = client.CoreV1Api(kube)
    namespaces = sorted({o["metadata"].get("namespace", RELEASE_NAMESPACE) for o in objects})
    created = [ns for ns in namespaces if ns not in {n.metadata.name for n in core.list_namespace().items}]
    for ns in created:
        core.create_namespace({"metadata": {"name": ns}})
    try:
        for obj in objects:
            resource = api.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            # Server-side dry run: full validation (schema, CEL rules, admission) without persisting.
            namespace = obj["metadata"].get("namespace", RELEASE_NAMESPACE) if resource.namespaced else None
            resource.create(body=obj, namespace=namespace, query_params=[("dryRun", "All")])
    finally:
        for ns in created:
            core.delete_namespace(ns)
        if components:
            assert run("playbooks/teardown.yml", {"crds_components": components, **PURGE}, tags="crds").rc == 0
