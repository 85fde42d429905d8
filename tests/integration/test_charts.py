"""Our charts render to objects the real API server accepts against the real upstream CRDs."""

import subprocess

import pytest
import yaml
from kubernetes import client, dynamic

from conftest import PURGE, ROOT
from paths import HELM

CHARTS = sorted(p for p in (ROOT / "charts").iterdir() if (p / "Chart.yaml").is_file())
# Namespace of the release: objects without metadata.namespace land there, as with helm install.
RELEASE_NAMESPACE = "chart-test"


def chart_cases():
    for chart in CHARTS:
        for values in sorted((chart / "ci").glob("*-values.yaml")):
            yield pytest.param(chart, values, id=f"{chart.name}:{values.stem}")


@pytest.fixture(scope="module")
def every_crd(run, kube):
    """Every upstream CRD the platform pins, installed once for all charts; the namespaces the charts' objects
    name are created as needed. All removed at the end."""
    result = run("playbooks/deploy.yml", tags="crds")
    assert result.rc == 0, result.failure_messages or result.stderr[-2000:]
    created = []
    yield created
    for ns in created:
        client.CoreV1Api(kube).delete_namespace(ns)
    result = run("playbooks/teardown.yml", PURGE, tags="crds")
    assert result.rc == 0, result.failure_messages or result.stderr[-2000:]


@pytest.mark.parametrize(("chart", "values"), chart_cases())
def test_rendered_objects_are_accepted_by_the_api_server(every_crd, kube, chart, values, sim_cluster):
    rendered = subprocess.run(
        [HELM, "template", "release", chart, "-f", values, "--namespace", RELEASE_NAMESPACE, "--kubeconfig",
         sim_cluster[1], "--validate"],
        check=True, capture_output=True, text=True).stdout
    objects = [o for o in yaml.safe_load_all(rendered) if o]
    assert objects, "the chart renders objects"

    api = dynamic.DynamicClient(kube)
    core = client.CoreV1Api(kube)
    for ns in sorted({o["metadata"].get("namespace", RELEASE_NAMESPACE) for o in objects}):
        if ns not in {n.metadata.name for n in core.list_namespace().items}:
            core.create_namespace({"metadata": {"name": ns}})
            every_crd.append(ns)
    for obj in objects:
        resource = api.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        # Server-side dry run: full validation (schema, CEL rules, admission) without persisting.
        namespace = obj["metadata"].get("namespace", RELEASE_NAMESPACE) if resource.namespaced else None
        resource.create(body=obj, namespace=namespace, query_params=[("dryRun", "All")])


@pytest.mark.parametrize(("override", "message"), [
    ("experiments[0].candidates[1].weight=20", "experiment iris-ab: candidate weights add up to 110, not 100"),
    ("pipelines[0].steps[0]=nope", 'pipeline iris-pipeline refers to model "nope", which this release does not serve'),
])
def test_model_serving_refuses_inconsistent_values(override, message):
    """Even installed by hand, the model-serving chart renders no release with dangling names or bad weights."""
    chart = ROOT / "charts/model-serving"
    result = subprocess.run([HELM, "template", "r", chart, "-f", chart / "ci/ab-pipeline-values.yaml", "--set", override],
                            capture_output=True, text=True, check=False)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def workloads(chart, values):
    """(kind, name, pod spec, replicas, disruption budgets) of every workload the chart renders with values."""
    rendered = subprocess.run([HELM, "template", "release", chart, "-f", values, "--namespace", RELEASE_NAMESPACE],
                              check=True, capture_output=True, text=True).stdout
    objects = [o for o in yaml.safe_load_all(rendered) if o]
    budgets = [o["spec"]["selector"]["matchLabels"] for o in objects if o["kind"] == "PodDisruptionBudget"]
    return [(o["kind"], o["metadata"]["name"], o["spec"]["template"], o["spec"].get("replicas", 1), budgets)
            for o in objects if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")]


@pytest.mark.parametrize(("chart", "values"), chart_cases())
def test_workloads_are_probed_sized_and_spread(chart, values):
    """Every container asks for what it needs (init containers and Jobs too), every long-running one is checked
    for liveness and readiness, and a workload with several replicas has a disruption budget."""
    for kind, name, template, replicas, budgets in workloads(chart, values):
        spec = template["spec"]
        for container in spec["containers"] + spec.get("initContainers", []):
            assert (container.get("resources") or {}).get("requests"), (kind, name, container["name"], "requests")
        if kind != "Job":
            for container in spec["containers"]:
                assert {"livenessProbe", "readinessProbe"} <= set(container), (kind, name, container["name"])
        if replicas > 1:
            labels = template["metadata"]["labels"]
            assert any(all(labels.get(k) == v for k, v in b.items()) for b in budgets), (kind, name, "no budget")


def test_seldon_servers_with_several_replicas_have_a_disruption_budget():
    """A Server's pods come from Seldon's operator, which labels them seldon-server-name=<server> (the selector of
    the StatefulSet it makes, operator/controllers/reconcilers/server/statefulset_reconciler.go)."""
    chart = ROOT / "charts/seldon-platform"
    servers = ["servers[0].name=mlserver,servers[0].serverConfig=mlserver,servers[0].replicas=2",
               "servers[1].name=triton,servers[1].serverConfig=triton,servers[1].replicas=1"]
    rendered = subprocess.run([HELM, "template", "r", chart, "--set", ",".join(servers)], check=True,
                              capture_output=True, text=True).stdout
    budgets = {o["metadata"]["name"]: o["spec"] for o in yaml.safe_load_all(rendered)
               if o and o["kind"] == "PodDisruptionBudget"}
    assert budgets == {"mlserver": {"maxUnavailable": 1, "selector": {"matchLabels": {"seldon-server-name": "mlserver"}}}}
