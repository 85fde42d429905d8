"""Spark's chart and input checks (NFS and Spark deployed are asserted in tests/platform)."""

import subprocess

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


def test_bad_spark_input_fails_in_preflight(run, kube):
    assert_fails_in_preflight(run, kube, {**SETTINGS, "spark_namespace": "spark-bad", "spark_worker_memory": "4GB"},
                              "spark_worker_memory", "spark-bad")
