"""NFS storage and Spark standalone on the real API server with simulated nodes.

csi-driver-nfs (third-party) is off in CI, so nothing provisions NFS volumes: the in-cluster NFS server's data claim
and Spark's shared ReadWriteMany claim (storage class "" in inventories/ci) bind to the simulated volume pool.
"""

import subprocess

import yaml
from kubernetes import client

from conftest import PURGE, ROOT, assert_fails_in_preflight
from paths import HELM
from test_platform_core import gone

SETTINGS = {"crds_components": ["prometheus-operator"], "platform_components": {"nfs": True, "spark": True}}


def pod_spec_of(apps, namespace, name):
    return apps.read_namespaced_deployment(name, namespace).spec.template.spec


def test_spark_on_shared_nfs_storage_deploys_keeps_data_and_purges(run, kube, core):
    apps, storage = client.AppsV1Api(kube), client.StorageV1Api(kube)
    first = run("playbooks/deploy.yml", SETTINGS)
    assert first.rc == 0, first.failure_messages

    assert core.read_namespace("nfs").metadata.labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert core.read_namespace("spark").metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    nfs_class = storage.read_storage_class("nfs")
    assert nfs_class.provisioner == "nfs.csi.k8s.io" and nfs_class.reclaim_policy == "Retain"
    assert nfs_class.parameters["server"] == "nfs-server.nfs.svc.cluster.local"
    assert apps.read_namespaced_stateful_set("nfs-server", "nfs").status.ready_replicas == 1

    for name, replicas in (("spark-master", 1), ("spark-worker", 2)):
        assert apps.read_namespaced_deployment(name, "spark").status.ready_replicas == replicas, name
    claim = core.read_namespaced_persistent_volume_claim("spark-shared", "spark")
    assert claim.status.phase == "Bound" and claim.spec.access_modes == ["ReadWriteMany"]
    assert core.read_persistent_volume(claim.spec.volume_name).spec.persistent_volume_reclaim_policy == "Retain"

    worker = pod_spec_of(apps, "spark", "spark-worker")
    mounts = {m.name: m.mount_path for m in worker.containers[0].volume_mounts}
    assert mounts["shared"] == "/shared"
    assert {v.name: v.persistent_volume_claim.claim_name for v in worker.volumes if v.persistent_volume_claim} == {
        "shared": "spark-shared"}
    pod_ip = {e.name: e.value_from.field_ref.field_path for e in worker.containers[0].env if e.value_from}
    assert pod_ip["SPARK_DRIVER_HOST"] == "status.podIP"
    defaults = dict(line.split(None, 1) for line in core.read_namespaced_config_map(
        "spark-defaults", "spark").data["spark-defaults.conf"].splitlines() if line.strip())
    assert defaults["spark.driver.host"] == "${env:SPARK_DRIVER_HOST}"
    assert (defaults["spark.driver.port"], defaults["spark.driver.blockManager.port"]) == ("7078", "7079")
    assert defaults["spark.master"] == "spark://spark-master.spark.svc:7077"
    assert core.read_namespaced_service("spark-driver", "spark").spec.cluster_ip == "None"

    again = run("playbooks/deploy.yml", SETTINGS)
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    assert run("playbooks/deploy.yml", SETTINGS, check=True).changed == 0

    down = run("playbooks/teardown.yml", SETTINGS)
    assert down.rc == 0, down.failure_messages
    kept = core.read_namespaced_persistent_volume_claim("spark-shared", "spark")
    assert kept.metadata.uid == claim.metadata.uid, "the shared claim outlives the release"
    assert core.list_namespaced_persistent_volume_claim("nfs").items, "the NFS server's data stays"
    assert gone(apps.read_namespaced_deployment, "spark-worker", "spark")

    back = run("playbooks/deploy.yml", SETTINGS)
    assert back.rc == 0, back.failure_messages
    assert core.read_namespaced_persistent_volume_claim("spark-shared", "spark").metadata.uid == claim.metadata.uid

    purge = run("playbooks/teardown.yml", {**SETTINGS, **PURGE})
    assert purge.rc == 0, purge.failure_messages
    assert gone(core.read_namespace, "spark") and gone(core.read_namespace, "nfs")
    assert gone(core.read_persistent_volume, claim.spec.volume_name)


def test_example_driver_job_shares_the_workers_volume_path():
    """The launcher template: a client-mode driver with its pod IP, spark-defaults and the workers' volume."""
    rendered = subprocess.run([HELM, "template", "spark", ROOT / "charts/spark", "--namespace", "spark", "--set",
                               "launcher.exampleJob=true"], check=True, capture_output=True, text=True).stdout
    objects = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(rendered) if o}
    driver = objects[("Job", "spark-pi-example")]["spec"]["template"]
    worker = objects[("Deployment", "spark-worker")]["spec"]["template"]["spec"]
    assert driver["metadata"]["labels"]["spark.mlops.platform/role"] == "driver", "selected by the driver Service"
    assert driver["spec"]["volumes"] == worker["volumes"]
    assert driver["spec"]["containers"][0]["volumeMounts"] == worker["containers"][0]["volumeMounts"]
    env = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in driver["spec"]["containers"][0]["env"]}
    assert env["SPARK_DRIVER_HOST"] == "status.podIP"


def test_bad_spark_input_fails_in_preflight(run, kube):
    assert_fails_in_preflight(run, kube, {**SETTINGS, "spark_namespace": "spark-bad", "spark_worker_memory": "4GB"},
                              "spark_worker_memory", "spark-bad")
