"""MLflow's input checks (the deployed MLflow is asserted in tests/platform)."""

import pytest

from conftest import assert_fails_in_preflight

NAMESPACE = "mlflow"
SETTINGS = {"crds_components": ["cert-manager", "trust-manager", "prometheus-operator"],
            "platform_components": {"cert_manager": True, "observability": False, "mlflow": True}}


@pytest.mark.parametrize(("settings", "variable"), [
    ({"mlflow_database_host": "db.example.internal"}, "mlflow_database_secret"),
    ({"mlflow_s3_endpoint": "http://s3.example.internal"}, "mlflow_s3_endpoint"),
    ({"mlflow_bucket": "Bad_Bucket"}, "mlflow_bucket"),
    # No registry: the image would resolve to Docker Hub, where this project publishes nothing.
    ({"platform_image_registry": ""}, "platform_image_registry"),
    ({"mlflow_image": {"repository": "mlops-platform/mlflow", "tag": "3.17.2"}}, "mlflow_image.repository"),
])
def test_bad_mlflow_input_fails_in_preflight(run, kube, settings, variable):
    assert_fails_in_preflight(run, kube, {**SETTINGS, **settings}, variable, NAMESPACE)
