"""The observability role on the real API server (its third-party charts are off in CI: no registry here)."""

import base64
import json

import pytest
from kubernetes import client

from conftest import PURGE, assert_fails_in_preflight
from test_platform_core import gone

NAMESPACE = "observability"
WEBHOOK = "https://hooks.example.internal/drift?token=s3cr3tT0ken"
SETTINGS = {"crds_components": ["prometheus-operator"], "observability_drift_webhook_url": WEBHOOK,
            "platform_components": {"cert_manager": False, "observability": True, "mlflow": False}}


def test_observability_deploys_idempotently_and_tears_down(run, kube, core):
    objects = client.CustomObjectsApi(kube)
    first = run("playbooks/deploy.yml", SETTINGS)
    assert first.rc == 0, first.failure_messages

    labels = core.read_namespace(NAMESPACE).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["mlops.platform/role"] == "observability", "platform namespaces let this namespace scrape them"
    assert core.read_namespace("observability-node").metadata.labels["pod-security.kubernetes.io/enforce"] == "privileged"

    grafana = {k: base64.b64decode(v).decode() for k, v in core.read_namespaced_secret("grafana-admin", NAMESPACE).data.items()}
    assert grafana["admin-user"] == "admin" and len(grafana["admin-password"]) == 32
    hook = base64.b64decode(core.read_namespaced_secret("drift-webhook", NAMESPACE).data["url"]).decode()
    assert hook == WEBHOOK
    logged = json.dumps(first.report) + first.stderr
    assert "s3cr3tT0ken" not in logged and grafana["admin-password"] not in logged

    dashboards = core.list_namespaced_config_map(NAMESPACE, label_selector="grafana_dashboard=1").items
    assert len(dashboards) == 5
    assert core.list_namespaced_config_map(NAMESPACE, label_selector="grafana_datasource=1").items
    rule = objects.get_namespaced_custom_object("monitoring.coreos.com", "v1", NAMESPACE, "prometheusrules",
                                                "platform-observability")
    assert "ModelDrifted" in [r.get("alert") for g in rule["spec"]["groups"] for r in g["rules"]]
    route = objects.get_namespaced_custom_object("monitoring.coreos.com", "v1alpha1", NAMESPACE, "alertmanagerconfigs",
                                                 "platform-observability-model-drift")
    assert route["spec"]["receivers"][0]["webhookConfigs"][0]["urlSecret"]["name"] == "drift-webhook"

    again = run("playbooks/deploy.yml", SETTINGS)
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    assert run("playbooks/deploy.yml", SETTINGS, check=True).changed == 0

    down = run("playbooks/teardown.yml", {**SETTINGS, **PURGE})
    assert down.rc == 0, down.failure_messages
    assert gone(core.read_namespace, NAMESPACE) and gone(core.read_namespace, "observability-node")


@pytest.mark.parametrize(("settings", "variable"), [
    ({"observability_drift_webhook_url": "hooks.example.internal"}, "observability_drift_webhook_url"),
    ({"observability_prometheus_retention": "two weeks"}, "observability_prometheus_retention"),
])
def test_bad_observability_input_fails_in_preflight(run, kube, settings, variable):
    assert_fails_in_preflight(run, kube, {**SETTINGS, **settings}, variable, NAMESPACE)
