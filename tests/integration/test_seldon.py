"""The seldon role's checks before any change (Seldon deployed and model releases are in tests/platform)."""

import pytest
from kubernetes import client

from conftest import assert_fails_in_preflight

CREDENTIALS = "registry-credentials"
SETTINGS = {"crds_components": ["cert-manager", "prometheus-operator", "seldon-core-v2", "strimzi"],
            "platform_components": {"seldon": True},
            "seldon_model_storage_credentials": {"namespace": CREDENTIALS, "name": "mlflow-object-store"}}


def test_missing_object_store_credentials_fail_before_the_namespace_exists(run, kube):
    settings = {**SETTINGS, "seldon_namespace": "seldon-missing",
                "seldon_model_storage_credentials": {"namespace": CREDENTIALS, "name": "no-such-secret"}}
    result = run("playbooks/deploy.yml", settings, tags="seldon")
    assert result.rc != 0 and any("no-such-secret" in m for m in result.failure_messages), result.failure_messages
    assert "seldon-missing" not in {n.metadata.name for n in client.CoreV1Api(kube).list_namespace().items}


@pytest.mark.parametrize(("settings", "variable"), [
    ({"seldon_servers": [{"name": "MLServer", "serverConfig": "mlserver", "replicas": 1}]}, "seldon_servers"),
    ({"seldon_tracing_endpoint": "http://collector"}, "seldon_tracing_endpoint"),
])
def test_bad_seldon_input_fails_in_preflight(run, kube, settings, variable):
    assert_fails_in_preflight(run, kube, {**SETTINGS, "seldon_namespace": "seldon-bad", **settings}, variable,
                              "seldon-bad")
