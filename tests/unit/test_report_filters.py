"""Filters behind the summary, the portal, the k3s kubeconfig and the image mirror (pure functions)."""

import subprocess
import sys

import pytest

from paths import ROOT

sys.path.insert(0, str(ROOT / "plugins" / "filter"))
from images import manifest_images, mirrored  # noqa: E402  pylint: disable=wrong-import-position
from kubeconfig import kubeconfig_merge  # noqa: E402  pylint: disable=wrong-import-position
from platform_report import operator_pods, quantity, resource_footprint, status_kinds, status_sections, ui_links  # noqa: E402  pylint: disable=wrong-import-position


@pytest.mark.parametrize(("text", "value"), [
    ("250m", 0.25), ("2", 2.0), ("1.5", 1.5), ("64Mi", 64 * 2**20), ("1Gi", 2**30), ("1G", 1e9), ("100k", 1e5)])
def test_quantity(text, value):
    assert quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["lots", "1ki", "1Ki5", "", "Mi"])
def test_quantity_rejects_garbage(text):
    with pytest.raises(ValueError):
        quantity(text)


def test_loading_the_filters_does_not_import_the_kubernetes_client():
    """Ansible loads every filter file of the collection in each task that uses one of its filters."""
    code = ("import importlib, pathlib, sys; sys.path.insert(0, 'plugins/filter'); "
            "[importlib.import_module(p.stem) for p in pathlib.Path('plugins/filter').glob('*.py')]; "
            "print('kubernetes' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def pod(namespace, containers, init=(), phase="Running"):
    def spec(requests):
        return {"resources": {"requests": requests}}
    return {"metadata": {"namespace": namespace}, "status": {"phase": phase},
            "spec": {"containers": [spec(c) for c in containers], "initContainers": [spec(c) for c in init]}}


def test_footprint_sums_requests_per_namespace_against_allocatable():
    pods = [
        pod("mlflow", [{"cpu": "250m", "memory": "512Mi"}, {"cpu": "250m"}]),
        pod("mlflow", [{"cpu": "100m", "memory": "256Mi"}], init=[{"cpu": "2", "memory": "128Mi"}]),  # init dominates cpu
        pod("spark", [{"cpu": "1", "memory": "1Gi"}]),
        pod("spark", [{"cpu": "8"}], phase="Succeeded"),  # finished: no longer reserves anything
        pod("kube-system", [{"cpu": "4"}]),  # not the platform's
    ]
    nodes = [{"status": {"allocatable": {"cpu": "16", "memory": "64Gi"}}}] * 2
    report = resource_footprint(pods, nodes, ["mlflow", "spark"])
    assert report["namespaces"]["mlflow"] == {"pods": 2, "cpu": 2.5, "memory": 0.75}
    assert report["namespaces"]["spark"] == {"pods": 1, "cpu": 1.0, "memory": 1.0}
    assert report["total"] == {"pods": 3, "cpu": 3.5, "memory": 1.75}
    assert report["allocatable"] == {"nodes": 2, "cpu": 32.0, "memory": 128.0}
    assert report["share"] == {"cpu": 10.9, "memory": 1.4}


def service(namespace, name, ports, labels):
    return {"metadata": {"namespace": namespace, "name": name, "labels": labels},
            "spec": {"ports": [{"port": p} for p in ports]}}


UIS = [
    {"title": "MLflow", "about": "Tracking", "selector": "app=mlflow,component=server", "port": 443, "scheme": "https",
     "credential": {"secret": "mlflow-admin", "keys": ["username", "password"]}},
    {"title": "Grafana", "selector": "app=grafana", "port": 80, "scheme": "http",
     "credential": {"secret": "grafana-admin", "keys": ["admin-user"]}},
    {"title": "Spark master", "selector": "app=spark", "port": 8080, "scheme": "http"},
]


def test_links_prefer_the_ingress_and_name_only_existing_secrets():
    services = [
        service("mlflow", "mlflow", [443], {"app": "mlflow", "component": "server"}),
        service("mlflow", "mlflow-minio", [9000], {"app": "mlflow", "component": "object-store"}),  # not the UI
        service("spark", "spark-a-headless", [7077], {"app": "spark"}),
        service("spark", "spark-master", [7077, 8080], {"app": "spark"}),
    ]  # no Grafana: not deployed, no link
    ingress = {"metadata": {"namespace": "mlflow"}, "spec": {
        "tls": [{"hosts": ["mlflow.example"]}],
        "rules": [{"host": "mlflow.example", "http": {"paths": [{"path": "/", "backend": {"service": {"name": "mlflow"}}}]}}]}}
    secrets = [{"metadata": {"namespace": "mlflow", "name": "mlflow-admin"}}]
    links = ui_links(UIS, services, [ingress], secrets)
    assert links == [
        {"title": "MLflow", "about": "Tracking", "url": "https://mlflow.example", "credential": "mlflow/mlflow-admin (username, password)"},
        {"title": "Spark master", "about": "", "command": "kubectl -n spark port-forward svc/spark-master 8080:8080, then http://localhost:8080"},
    ]


def test_status_sections_show_readiness_and_leave_out_empty_sections():
    catalogue = [{"title": "Seldon", "command": "kubectl get servers -A", "api_version": "mlops.seldon.io/v1alpha1",
                  "kinds": ["Server", "Model"]},
                 {"title": "Volcano queues", "api_version": "scheduling.volcano.sh/v1beta1", "kinds": ["Queue"]}]
    assert [k["kind"] for k in status_kinds(catalogue)] == ["Server", "Model", "Queue"]
    reads = [
        {"resources": [{"kind": "Server", "metadata": {"namespace": "seldon-mesh", "name": "mlserver"},
                        "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "NoReplicas"}]}}]},
        {"resources": [{"kind": "Model", "metadata": {"namespace": "seldon-mesh", "name": "iris"},
                        "status": {"conditions": [{"type": "Ready", "status": "True"}]}}]},
        {"resources": []},
    ]
    assert status_sections(catalogue, reads) == [{"title": "Seldon", "command": "kubectl get servers -A", "rows": [
        {"name": "seldon-mesh/iris (Model)", "state": "Ready"},
        {"name": "seldon-mesh/mlserver (Server)", "state": "Not ready: NoReplicas"}]}]


def test_kubeconfig_merge_replaces_only_its_own_entries():
    existing = {"apiVersion": "v1", "kind": "Config", "current-context": "work",
                "clusters": [{"name": "work", "cluster": {"server": "https://work"}},
                             {"name": "mlops", "cluster": {"server": "https://old"}}],
                "users": [{"name": "work", "user": {"token": "w"}}],
                "contexts": [{"name": "work", "context": {"cluster": "work", "user": "work"}}]}
    k3s = {"clusters": [{"name": "default", "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": "Q0E="}}],
           "users": [{"name": "default", "user": {"client-certificate-data": "Y2VydA=="}}],
           "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}]}
    merged = kubeconfig_merge(existing, k3s, name="mlops", server="https://10.0.0.11:6443")
    assert [c["name"] for c in merged["clusters"]] == ["work", "mlops"]
    assert merged["clusters"][1]["cluster"] == {"server": "https://10.0.0.11:6443", "certificate-authority-data": "Q0E="}
    assert [u["name"] for u in merged["users"]] == ["work", "mlops"]
    assert merged["contexts"][1] == {"name": "mlops", "context": {"cluster": "mlops", "user": "mlops"}}
    assert merged["current-context"] == "mlops"
    assert existing["clusters"][1]["cluster"]["server"] == "https://old", "the input is not modified"
    assert kubeconfig_merge({}, k3s, name="x")["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"


@pytest.mark.parametrize(("ref", "expected"), [
    ("docker.io/apache/spark:3.5.6", "m.test/mlops/apache/spark:3.5.6"),
    ("postgres:17.6", "m.test/mlops/library/postgres:17.6"),
    ("nginxinc/nginx-unprivileged:1.29", "m.test/mlops/nginxinc/nginx-unprivileged:1.29"),
    ("quay.io/strimzi/kafka:0.47.0-kafka-3.9.0", "m.test/mlops/strimzi/kafka:0.47.0-kafka-3.9.0"),
    ("localhost:5000/a/b@sha256:00", "m.test/mlops/a/b@sha256:00"),
])
def test_mirrored(ref, expected):
    assert mirrored(ref, "m.test/mlops/") == expected
    assert mirrored(ref, "") == ref


def test_mirrored_leaves_a_mirrored_image_alone():
    """A chart pointed at the mirror by its own registry value is not mirrored a second time."""
    assert mirrored("m.test/mlops/prometheus/prometheus:v3", "m.test/mlops") == "m.test/mlops/prometheus/prometheus:v3"


def test_manifest_images_reads_image_keys_arguments_and_image_variables():
    text = """
spec:
  containers:
    - name: a
      image: postgres:17
      args: [--log=info, --prometheus-config-reloader=quay.io/p/reloader:v1]
      env:
        - {name: STRIMZI_KAFKA_IMAGES, value: "3.9.0=quay.io/s/kafka:1-3.9.0\n4.0.0=quay.io/s/kafka:1-4.0.0\n"}
        - {name: STRIMZI_DEFAULT_BRIDGE_IMAGE, value: quay.io/s/bridge:2}
        - {name: LOG_LEVEL, value: "debug:1"}
    - image: 'quay.io/x/y:1'
---
kind: ConfigMap
data: {note: "image: not-an-image-key:1"}
"""
    assert manifest_images(text) == ["postgres:17", "quay.io/p/reloader:v1", "quay.io/s/bridge:2", "quay.io/s/kafka:1-3.9.0",
                                     "quay.io/s/kafka:1-4.0.0", "quay.io/x/y:1"]
    assert manifest_images("spec: {containers: [{image: prom/prometheus}]}") == ["prom/prometheus"], "untagged is named too"


def test_operator_pods_count_until_the_operator_starts_them():
    crs = [
        {"kind": "Prometheus", "metadata": {"namespace": "obs", "name": "kps"},
         "spec": {"resources": {"requests": {"cpu": "200m", "memory": "512Mi"}}}},
        {"kind": "KafkaNodePool", "metadata": {"namespace": "seldon", "name": "pool", "labels": {"strimzi.io/cluster": "k"}},
         "spec": {"replicas": 3, "resources": {"requests": {"cpu": "250m"}}}},
        {"kind": "SeldonConfig", "metadata": {"namespace": "seldon", "name": "default"}, "spec": {"components": [
            {"name": "seldon-scheduler", "podSpec": {"containers": [{"name": "s", "resources": {"requests": {"cpu": "100m"}}}]}},
            {"name": "hodometer", "podSpec": {"containers": [{"name": "h", "resources": {"requests": {"cpu": "1"}}}]}}]}},
        {"kind": "SeldonRuntime", "metadata": {"namespace": "seldon", "name": "seldon"},
         "spec": {"seldonConfig": "default", "overrides": [{"name": "hodometer", "disable": True}]}},
        {"kind": "ServerConfig", "metadata": {"namespace": "seldon", "name": "mlserver"},
         "spec": {"podSpec": {"containers": [{"name": "agent", "resources": {"requests": {"cpu": "100m"}}}]}}},
        {"kind": "Server", "metadata": {"namespace": "seldon", "name": "mlserver"}, "spec": {"serverConfig": "mlserver", "replicas": 2}},
    ]
    live = [{"metadata": {"namespace": "obs", "name": "prometheus-kps-0"}, "spec": {"containers": []}, "status": {}}]
    planned = operator_pods(crs, live)
    assert sorted(p["metadata"]["name"] for p in planned) == [
        "k-pool-0", "k-pool-1", "k-pool-2", "mlserver-0", "mlserver-1", "seldon-scheduler-0"], "running and disabled ones are left out"
    report = resource_footprint(live + planned, [{"status": {"allocatable": {"cpu": "4", "memory": "8Gi"}}}])
    assert report["not_started"] == {"pods": 6, "cpu": 1.05, "memory": 0.0}
    assert report["total"]["pods"] == 7
