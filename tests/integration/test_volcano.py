"""The volcano role's input checks (queues, RBAC and a real TorchX submission are in tests/platform)."""

import pytest

from kubernetes import client

from conftest import assert_fails_in_preflight

NAMESPACE = "training"
SETTINGS = {"crds_components": ["volcano"], "platform_components": {"volcano": True}}


@pytest.mark.parametrize(("settings", "variable"), [
    ({"volcano_default_queue": "gpu"}, "volcano_default_queue"),
    ({"volcano_queues": [{"name": "Training", "weight": 1}]}, "volcano_queues"),
    ({"platform_image_registry": ""}, "platform_image_registry"),
    ({"volcano_mlflow_credentials": {"name": "Bad_Name"}}, "volcano_mlflow_credentials"),
])
def test_bad_volcano_input_fails_in_preflight(run, kube, settings, variable):
    assert_fails_in_preflight(run, kube, {**SETTINGS, "volcano_training_namespace": "training-bad", **settings},
                              variable, "training-bad")


@pytest.mark.parametrize(("credentials", "message"), [
    ({"name": "mlflow-training", "namespace": "mlflow-absent"}, "deploy MLflow first"),  # nothing to copy
    ({"name": "my-mlflow-user"}, "volcano_mlflow_credentials"),  # no Secret where training pods run
])
def test_no_mlflow_credential_for_training_pods_fails_before_volcano_changes_anything(run, kube, credentials, message):
    """The role's check.yml, run by the platform's apply before any of its changes (only the CRDs, which deploy.yml
    applies first, may have changed)."""
    result = run("playbooks/deploy.yml", {**SETTINGS, "volcano_training_namespace": "training-bad",
                                          "volcano_mlflow_credentials": credentials})
    assert result.rc != 0
    assert any(message in m for m in result.failure_messages), result.failure_messages
    assert all(t.startswith("mlops.platform.crds : ") for t in result.changed_tasks()), result.changed_tasks()
    assert "training-bad" not in {n.metadata.name for n in client.CoreV1Api(kube).list_namespace().items}
