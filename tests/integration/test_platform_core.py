"""Platform-wide input checks: bad input fails in preflight, naming the variable, before any change.

(The platform core's deployment, idempotence and teardown are asserted on the whole platform: tests/platform.)
"""

import pytest

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
