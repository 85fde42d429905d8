"""The volcano role's input checks (queues, RBAC and a real TorchX submission are in tests/platform)."""

import pytest

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
