"""Spark's chart and input checks (NFS and Spark deployed are asserted in tests/platform)."""

import subprocess

import pytest
import yaml

from conftest import ROOT, assert_fails_in_preflight
from paths import HELM

SETTINGS = {"crds_components": ["prometheus-operator"], "platform_components": {"nfs": True, "spark": True}}


def test_example_driver_job_shares_the_workers_volume_path():
    """The launcher template: a client-mode driver with its pod IP, spark-defaults and the workers' volume."""
    rendered = subprocess.run([HELM, "template", "spark", ROOT / "charts/spark", "--namespace", "spark", "--set",
                               "launcher.exampleJob=true"], check=True, capture_output=True, text=True).stdout
    objects = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(rendered) if o}
    driver = objects[("Job", "spark-example")]["spec"]["template"]
    worker = objects[("Deployment", "spark-worker")]["spec"]["template"]["spec"]
    assert driver["metadata"]["labels"]["spark.mlops.platform/role"] == "driver", "selected by the driver Service"
    assert driver["spec"]["volumes"][:-1] == worker["volumes"], "the workers' volumes, plus the example's script"
    assert driver["spec"]["containers"][0]["volumeMounts"][:-1] == worker["containers"][0]["volumeMounts"]
    env = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in driver["spec"]["containers"][0]["env"]}
    assert env["SPARK_DRIVER_HOST"] == "status.podIP"
    # The MLflow example: the same, plus its script, MLflow's CA and its settings (run in test_spark_local.py).
    ml_driver = objects[("Job", "spark-ml-example")]["spec"]["template"]["spec"]
    assert ml_driver["volumes"][:-2] == worker["volumes"]
    assert [v["configMap"]["name"] for v in ml_driver["volumes"][-2:]] == ["spark-example", "mlops-platform-ca"]
    ml_env = {e["name"]: e for e in ml_driver["containers"][0]["env"]}
    assert ml_env["MLFLOW_DFS_TMP"]["value"] == "/shared/.mlflow-staging", "on the claim every executor mounts"
    assert ml_env["MLFLOW_TRACKING_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "mlflow-spark", "key": "password"}}
    assert ml_driver["containers"][0]["image"].startswith("registry.invalid/mlops-platform/spark:")


@pytest.mark.parametrize(("settings", "variable"), [
    ({"spark_worker_memory": "4GB"}, "spark_worker_memory"),
    ({"platform_image_registry": ""}, "platform_image_registry"),  # the MLflow driver image would come from Docker Hub
    ({"spark_mlflow_credentials": {"name": "Bad_Name"}}, "spark_mlflow_credentials"),
    ({"spark_mlflow_tracking_uri": "mlflow.mlflow.svc"}, "spark_mlflow_tracking_uri"),
])
def test_bad_spark_input_fails_in_preflight(run, kube, settings, variable):
    assert_fails_in_preflight(run, kube, {**SETTINGS, "spark_namespace": "spark-bad", **settings}, variable,
                              "spark-bad")
