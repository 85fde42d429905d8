"""The mlflow role on the real API server: credentials, TLS, policies, data kept across teardowns."""

import base64
import json

import pytest
from kubernetes import client

from conftest import PURGE, assert_fails_in_preflight
from test_platform_core import gone

NAMESPACE = "mlflow"
SETTINGS = {"crds_components": ["cert-manager", "trust-manager", "prometheus-operator"],
            "platform_components": {"cert_manager": True, "observability": False, "mlflow": True}}


def secret_data(core, name):
    return {k: base64.b64decode(v).decode() for k, v in core.read_namespaced_secret(name, NAMESPACE).data.items()}


def test_mlflow_deploys_idempotently_and_keeps_its_data_until_purge(run, kube, core):
    objects = client.CustomObjectsApi(kube)
    first = run("playbooks/deploy.yml", SETTINGS)
    assert first.rc == 0, first.failure_messages

    assert core.read_namespace(NAMESPACE).metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    admin = secret_data(core, "mlflow-admin")
    database = secret_data(core, "mlflow-postgresql")
    assert admin["password"] not in json.dumps(first.report) + first.stderr, "credentials are never logged"
    assert admin["username"] == "admin" and len(admin["password"]) == 32 and admin["password"].isalnum()
    assert len({admin["password"], admin["flaskSecretKey"], database["password"],
                secret_data(core, "mlflow-object-store")["secretKey"]}) == 4, "every credential is its own"

    pod = client.AppsV1Api(kube).read_namespaced_deployment("mlflow", NAMESPACE).spec.template.spec
    assert [c.name for c in pod.init_containers] == ["create-bucket", "db-upgrade"], "migrations run before the server"
    assert all(c.security_context.run_as_non_root and c.security_context.read_only_root_filesystem
               for c in pod.containers + pod.init_containers)
    assert not pod.automount_service_account_token
    cert = objects.get_namespaced_custom_object("cert-manager.io", "v1", NAMESPACE, "certificates", "mlflow")
    assert cert["spec"]["issuerRef"]["name"] == "mlops-platform-ca"
    assert "mlflow.mlflow.svc" in cert["spec"]["dnsNames"]
    assert objects.get_namespaced_custom_object("monitoring.coreos.com", "v1", NAMESPACE, "servicemonitors", "mlflow")
    policies = {p.metadata.name for p in client.NetworkingV1Api(kube).list_namespaced_network_policy(NAMESPACE).items}
    assert {"default-deny", "mlflow-server", "mlflow-postgresql", "mlflow-minio"} <= policies

    claims = core.list_namespaced_persistent_volume_claim(NAMESPACE).items
    assert sorted(c.metadata.name for c in claims) == ["data-mlflow-minio-0", "data-mlflow-postgresql-0"]
    volumes = [c.spec.volume_name for c in claims]
    assert all(core.read_persistent_volume(v).spec.persistent_volume_reclaim_policy == "Retain" for v in volumes)

    again = run("playbooks/deploy.yml", SETTINGS)
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    checked = run("playbooks/deploy.yml", SETTINGS, check=True)
    assert checked.rc == 0 and checked.changed == 0, checked.changed_tasks()
    assert secret_data(core, "mlflow-admin") == admin, "re-runs never change the credentials"

    kept = run("playbooks/teardown.yml", SETTINGS)
    assert kept.rc == 0, kept.failure_messages
    assert gone(client.AppsV1Api(kube).read_namespaced_deployment, "mlflow", NAMESPACE)
    assert sorted(c.metadata.name for c in core.list_namespaced_persistent_volume_claim(NAMESPACE).items) == [
        "data-mlflow-minio-0", "data-mlflow-postgresql-0"]
    assert secret_data(core, "mlflow-admin") == admin, "the credential to the kept data stays"

    back = run("playbooks/deploy.yml", SETTINGS)
    assert back.rc == 0, back.failure_messages
    assert [c.spec.volume_name for c in core.list_namespaced_persistent_volume_claim(NAMESPACE).items] == volumes
    assert secret_data(core, "mlflow-postgresql") == database

    purged = run("playbooks/teardown.yml", {**SETTINGS, **PURGE})
    assert purged.rc == 0, purged.failure_messages
    assert gone(core.read_namespace, NAMESPACE)
    assert all(gone(core.read_persistent_volume, v) for v in volumes)


@pytest.mark.parametrize(("settings", "variable"), [
    ({"mlflow_database_host": "db.example.internal"}, "mlflow_database_secret"),
    ({"mlflow_s3_endpoint": "http://s3.example.internal"}, "mlflow_s3_endpoint"),
    ({"mlflow_bucket": "Bad_Bucket"}, "mlflow_bucket"),
])
def test_bad_mlflow_input_fails_in_preflight(run, kube, settings, variable):
    assert_fails_in_preflight(run, kube, {**SETTINGS, **settings}, variable, NAMESPACE)
