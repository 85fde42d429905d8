"""Platform-wide input checks: bad input fails in preflight, naming the variable, before any change.

(The platform core's deployment, idempotence and teardown are asserted on the whole platform: tests/platform.)
"""

import pytest

from kubernetes import client

from conftest import assert_fails_in_preflight

NAMESPACE = "cert-manager"
SETTINGS = {"crds_components": ["cert-manager", "trust-manager"],
            "platform_components": {"cert_manager": True, "observability": False, "mlflow": False}}


@pytest.mark.parametrize(("settings", "variable"), [
    ({"platform_components": {"cert_manager": True, "kafka": True}}, "platform_components"),
    ({"platform_components": {"cert_manager": "maybe"}}, "platform_components"),
    ({"platform_chart_source": "local", "platform_chart_dir": ""}, "platform_chart_dir"),
    ({"platform_chart_source": "oci", "platform_chart_oci": "registry.example/charts"}, "platform_chart_oci"),
    ({"platform_helm_timeout": "ten minutes"}, "platform_helm_timeout"),
    ({"cert_manager_namespace": "Cert_Manager"}, "cert_manager_namespace"),
    ({"platform_mirror": {"registry": "https://mirror.example"}}, "platform_mirror"),
    ({"platform_mirror": {"registry": "", "charts": "relative/dir"}}, "platform_mirror"),
    ({"platform_cluster_provider": "minikube"}, "platform_cluster_provider"),
    ({"platform_kube_api_cidrs": ["10.0.0.1"]}, "platform_kube_api_cidrs"),
    ({"platform_kube_api_cidrs": "10.0.0.1/32"}, "platform_kube_api_cidrs"),
    ({"platform_node_local_dns_ip": "dns.local"}, "platform_node_local_dns_ip"),
    ({"platform_components": {"cert_manager": True, "portal": True}, "portal_host": "Portal_Bad"}, "portal_host"),
])
def test_bad_input_fails_in_preflight_naming_the_variable(run, kube, settings, variable):
    assert_fails_in_preflight(run, kube, {**SETTINGS, **settings}, variable, NAMESPACE)


@pytest.mark.parametrize(("component", "credentials", "message"), [
    ("volcano", {"name": "mlflow-training", "namespace": "mlflow-absent"}, "deploy MLflow first"),  # nothing to copy
    ("volcano", {"name": "my-mlflow-user"}, "volcano_mlflow_credentials"),  # no Secret where training pods run
    ("spark", {"name": "mlflow-spark", "namespace": "mlflow-absent"}, "deploy MLflow first"),
    ("spark", {"name": "my-mlflow-user"}, "spark_mlflow_credentials"),  # no Secret where drivers run
])
def test_no_mlflow_credential_for_a_component_fails_before_it_changes_anything(run, kube, component, credentials,
                                                                               message):
    """The platform's apply checks every credential a component copies (copy_of) or uses (needs_secrets) before any
    change (only the CRDs, which deploy.yml applies first, may have changed)."""
    settings = {
        "volcano": {"crds_components": ["volcano"], "platform_components": {"volcano": True},
                    "volcano_training_namespace": "credential-bad", "volcano_mlflow_credentials": credentials},
        "spark": {"crds_components": ["prometheus-operator"], "platform_components": {"spark": True},
                  "spark_namespace": "credential-bad", "spark_mlflow_credentials": credentials},
    }[component]
    result = run("playbooks/deploy.yml", settings)
    assert result.rc != 0
    assert any(message in m for m in result.failure_messages), result.failure_messages
    assert all(t.startswith("mlops.platform.crds : ") for t in result.changed_tasks()), result.changed_tasks()
    assert "credential-bad" not in {n.metadata.name for n in client.CoreV1Api(kube).list_namespace().items}
