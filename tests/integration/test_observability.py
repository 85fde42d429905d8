"""The observability role's input checks (the deployed stack is asserted in tests/platform)."""

import pytest

from conftest import assert_fails_in_preflight

NAMESPACE = "observability"
SETTINGS = {"crds_components": ["prometheus-operator"],
            "platform_components": {"cert_manager": False, "observability": True, "mlflow": False}}


@pytest.mark.parametrize(("settings", "variable"), [
    ({"observability_drift_webhook_url": "hooks.example.internal"}, "observability_drift_webhook_url"),
    ({"observability_prometheus_retention": "two weeks"}, "observability_prometheus_retention"),
])
def test_bad_observability_input_fails_in_preflight(run, kube, settings, variable):
    assert_fails_in_preflight(run, kube, {**SETTINGS, **settings}, variable, NAMESPACE)
