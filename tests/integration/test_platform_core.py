"""Platform core on the real API server: namespace baseline, the platform CA chart, idempotence, teardown."""

import time

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from conftest import PURGE, assert_fails_in_preflight

PKI_CRDS = ["cert-manager", "trust-manager"]
NAMESPACE = "cert-manager"
SETTINGS = {"crds_components": PKI_CRDS,
            "platform_components": {"cert_manager": True, "observability": False, "mlflow": False}}


def gone(read, *args):
    """Poll until read(*args) answers 404 (up to 60 s)."""
    for _ in range(60):
        try:
            read(*args)
        except ApiException as err:
            if err.status == 404:
                return True
            raise
        time.sleep(1)
    return False


def cluster_admin_subjects(kube):
    bindings = client.RbacAuthorizationV1Api(kube).list_cluster_role_binding().items
    return sorted(b.metadata.name for b in bindings if b.role_ref.name == "cluster-admin")


@pytest.fixture
def apis(kube):
    return client.CoreV1Api(kube), client.NetworkingV1Api(kube), client.CustomObjectsApi(kube)


def test_deploy_is_complete_idempotent_and_teardown_keeps_crds(run, kube, apis, crd_api):
    core, net, objects = apis
    admins_before = cluster_admin_subjects(kube)
    settings = SETTINGS

    first = run("playbooks/deploy.yml", settings)
    assert first.rc == 0, first.failure_messages

    labels = core.read_namespace(NAMESPACE).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["mlops.platform/trust-bundle"] == "true"
    policies = {p.metadata.name: p.spec for p in net.list_namespaced_network_policy(NAMESPACE).items}
    assert policies["default-deny"].pod_selector.match_labels is None
    assert sorted(policies["default-deny"].policy_types) == ["Egress", "Ingress"]
    assert {"allow-dns", "allow-kube-api", "allow-webhooks"} <= set(policies)

    issuer = objects.get_cluster_custom_object("cert-manager.io", "v1", "clusterissuers", "mlops-platform-ca")
    assert issuer["spec"]["ca"]["secretName"] == "mlops-platform-root-ca"
    ca = objects.get_namespaced_custom_object("cert-manager.io", "v1", NAMESPACE, "certificates", "mlops-platform-root-ca")
    assert ca["spec"]["isCA"] is True and ca["spec"]["issuerRef"]["name"].endswith("-bootstrap")
    bundle = objects.get_cluster_custom_object("trust.cert-manager.io", "v1alpha1", "bundles", "mlops-platform-ca")
    assert bundle["spec"]["target"]["namespaceSelector"]["matchLabels"] == {"mlops.platform/trust-bundle": "true"}
    assert core.list_namespaced_secret(NAMESPACE, label_selector="owner=helm,name=platform-pki").items
    assert cluster_admin_subjects(kube) == admins_before, "the platform binds nothing to cluster-admin"

    again = run("playbooks/deploy.yml", settings)
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    checked = run("playbooks/deploy.yml", settings, check=True)
    assert checked.rc == 0 and checked.changed == 0, checked.changed_tasks()

    down = run("playbooks/teardown.yml", settings)
    assert down.rc == 0, down.failure_messages
    assert gone(core.read_namespace, NAMESPACE)
    assert gone(objects.get_cluster_custom_object, "cert-manager.io", "v1", "clusterissuers", "mlops-platform-ca")
    assert crd_api.read_custom_resource_definition("certificates.cert-manager.io"), "CRDs stay without purge"
    assert run("playbooks/teardown.yml", settings).changed == 0

    purged = run("playbooks/teardown.yml", {**settings, **PURGE})
    assert purged.rc == 0, purged.failure_messages
    assert gone(crd_api.read_custom_resource_definition, "certificates.cert-manager.io")


def test_teardown_never_touches_what_the_platform_did_not_create(run, apis):
    core = apis[0]
    core.create_namespace({"metadata": {"name": "user-data"}})
    core.create_namespaced_persistent_volume_claim("user-data", {
        "metadata": {"name": "precious"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    try:
        assert run("playbooks/deploy.yml", SETTINGS).rc == 0
        purged = run("playbooks/teardown.yml", {**SETTINGS, **PURGE})
        assert purged.rc == 0, purged.failure_messages
        assert core.read_namespaced_persistent_volume_claim("precious", "user-data").metadata.deletion_timestamp is None
    finally:
        core.delete_namespace("user-data")


def bound_volume(core, namespace, name, pv_name):
    """A hostPath volume bound to a claim in namespace, as a provisioner would leave it (reclaim policy Delete)."""
    core.create_persistent_volume({
        "metadata": {"name": pv_name},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Delete",
                 "hostPath": {"path": f"/tmp/{pv_name}"}, "claimRef": {"namespace": namespace, "name": name}}})
    core.create_namespaced_persistent_volume_claim(namespace, {
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                 "volumeName": pv_name, "storageClassName": ""}})
    for _ in range(60):
        if core.read_namespaced_persistent_volume_claim(name, namespace).status.phase == "Bound":
            return
        time.sleep(1)
    raise AssertionError(f"{namespace}/{name} never bound")


def test_teardown_keeps_data_volumes_unless_purge(run, apis):
    core = apis[0]
    settings = SETTINGS
    assert run("playbooks/deploy.yml", settings).rc == 0
    bound_volume(core, NAMESPACE, "data", "platform-data")
    bound_volume(core, "default", "other", "someone-elses")
    try:
        redeploy = run("playbooks/deploy.yml", settings)
        assert redeploy.rc == 0 and [t.split(" : ")[-1] for t in redeploy.changed_tasks()] == ["Retain the volumes bound to those claims"]
        assert core.read_persistent_volume("platform-data").spec.persistent_volume_reclaim_policy == "Retain"
        assert core.read_persistent_volume("someone-elses").spec.persistent_volume_reclaim_policy == "Delete"

        kept = run("playbooks/teardown.yml", settings)
        assert kept.rc == 0, kept.failure_messages
        assert not core.list_namespaced_secret(NAMESPACE, label_selector="owner=helm").items, "releases are gone"
        assert core.read_namespaced_persistent_volume_claim("data", NAMESPACE).status.phase == "Bound"
        assert core.read_namespace(NAMESPACE).metadata.deletion_timestamp is None
        assert run("playbooks/teardown.yml", settings).changed == 0

        purged = run("playbooks/teardown.yml", {**settings, **PURGE})
        assert purged.rc == 0, purged.failure_messages
        assert gone(core.read_namespace, NAMESPACE)
        assert gone(core.read_persistent_volume, "platform-data")
        assert core.read_persistent_volume("someone-elses").status.phase == "Bound"
    finally:
        core.delete_namespaced_persistent_volume_claim("other", "default")
        core.delete_persistent_volume("someone-elses")


@pytest.mark.parametrize(("settings", "variable"), [
    ({"platform_components": {"cert_manager": True, "kafka": True}}, "platform_components"),
    ({"platform_components": {"cert_manager": "maybe"}}, "platform_components"),
    ({"platform_chart_source": "local"}, "platform_chart_dir"),
    ({"platform_chart_source": "oci", "platform_chart_oci": "registry.example/charts"}, "platform_chart_oci"),
    ({"platform_helm_timeout": "ten minutes"}, "platform_helm_timeout"),
    ({"cert_manager_namespace": "Cert_Manager"}, "cert_manager_namespace"),
    ({"platform_mirror": {"registry": "https://mirror.example"}}, "platform_mirror"),
    ({"platform_mirror": {"registry": "", "charts": "relative/dir"}}, "platform_mirror"),
    ({"platform_cluster_provider": "minikube"}, "platform_cluster_provider"),
    ({"platform_components": {"cert_manager": True, "portal": True}, "portal_host": "Portal_Bad"}, "portal_host"),
])
def test_bad_input_fails_in_preflight_naming_the_variable(run, kube, settings, variable):
    assert_fails_in_preflight(run, kube, {**SETTINGS, **settings}, variable, NAMESPACE)
