"""The crds role against the real API server: install, idempotence, check mode, upgrade, guarded removal."""

import functools
import http.server
import shutil
import threading

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from conftest import PURGE, SHARED_CRDS, upstream_crd_names


def established(crd_api, name):
    """True when the CRD exists and is Established."""
    try:
        crd = crd_api.read_custom_resource_definition(name)
    except ApiException as err:
        if err.status == 404:
            return False
        raise
    return any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])


def present(crd_api, names):
    """The subset of names that exist in the cluster."""
    existing = {c.metadata.name for c in crd_api.list_custom_resource_definition().items}
    return sorted(set(names) & existing)


def deploy_crds(run, components, check=False, **extra):
    return run("playbooks/deploy.yml", {"crds_components": components, **extra}, check=check, tags="crds")


def purge_crds(run, components):
    return run("playbooks/teardown.yml", {"crds_components": components, **PURGE}, tags="crds")


def test_install_is_established_idempotent_and_check_mode_is_clean(run, crd_api):
    names = upstream_crd_names("trust-manager") + upstream_crd_names("volcano")
    first = deploy_crds(run, ["trust-manager", "volcano"])
    assert first.rc == 0, first.failure_messages
    assert first.changed > 0
    assert all(established(crd_api, n) for n in names)

    again = deploy_crds(run, ["trust-manager", "volcano"])
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()

    checked = deploy_crds(run, ["trust-manager", "volcano"], check=True)
    assert checked.rc == 0 and checked.changed == 0, checked.changed_tasks()

    removed = purge_crds(run, ["trust-manager", "volcano"])
    assert removed.rc == 0, removed.failure_messages
    assert present(crd_api, names) == []


def test_check_mode_on_an_empty_cluster_reports_changes_and_creates_nothing(run, crd_api):
    names = upstream_crd_names("strimzi")
    result = deploy_crds(run, ["strimzi"], check=True)
    assert result.rc == 0, result.failure_messages
    assert any("Apply the CRDs" in task for task in result.changed_tasks()), result.changed_tasks()
    assert present(crd_api, names) == []


def test_removal_is_refused_while_custom_resources_exist(run, kube, crd_api):
    volcano = upstream_crd_names("volcano")
    assert deploy_crds(run, ["volcano"]).rc == 0
    objects = client.CustomObjectsApi(kube)
    objects.create_cluster_custom_object(
        "scheduling.volcano.sh", "v1beta1", "queues",
        {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "Queue", "metadata": {"name": "pytest-queue"},
         "spec": {"weight": 1}})
    try:
        refused = purge_crds(run, ["volcano"])
        assert refused.rc != 0
        assert any("queues.scheduling.volcano.sh (1 objects, e.g. pytest-queue)" in m for m in refused.failure_messages), refused.failure_messages
        assert present(crd_api, volcano) == volcano, "no CRD may be removed when any is in use"
    finally:
        objects.delete_cluster_custom_object("scheduling.volcano.sh", "v1beta1", "queues", "pytest-queue")

    removed = purge_crds(run, ["volcano"])
    assert removed.rc == 0, removed.failure_messages
    assert present(crd_api, volcano) == []


def test_teardown_without_purge_keeps_crds_and_purge_needs_confirmation(run, crd_api):
    names = upstream_crd_names("trust-manager")
    assert deploy_crds(run, ["trust-manager"]).rc == 0

    kept = run("playbooks/teardown.yml", {"crds_components": ["trust-manager"]})
    assert kept.rc == 0 and kept.changed == 0
    assert present(crd_api, names) == names

    unconfirmed = run("playbooks/teardown.yml", {"crds_components": ["trust-manager"], "platform_purge": True})
    assert unconfirmed.rc != 0
    assert any("platform_purge_confirm" in m for m in unconfirmed.failure_messages), unconfirmed.failure_messages
    assert present(crd_api, names) == names

    assert purge_crds(run, ["trust-manager"]).rc == 0
    assert present(crd_api, names) == []


def test_bad_input_fails_before_any_change(run, crd_api, tmp_path):
    unknown = deploy_crds(run, ["cert-manager", "not-a-component"])
    assert unknown.rc != 0 and unknown.changed == 0
    assert any("crds_components" in m and "not-a-component" in m for m in unknown.failure_messages)

    tampered = tmp_path / "crds"
    shutil.copytree(SHARED_CRDS, tampered)
    victim = tampered / "strimzi" / "043-Crd-kafkatopic.yaml"
    victim.write_text(victim.read_text().replace("KafkaTopic", "KafkaTopik", 1))
    result = deploy_crds(run, ["strimzi"], crds_local_dir=str(tampered))
    assert result.rc != 0 and result.changed == 0
    assert any("043-Crd-kafkatopic.yaml" in m and "sha256" in m for m in result.failure_messages), result.failure_messages
    assert present(crd_api, upstream_crd_names("strimzi")) == []

    missing = deploy_crds(run, ["strimzi"], crds_local_dir=str(tmp_path / "nowhere"))
    assert missing.rc != 0 and any("crds_local_dir" in m for m in missing.failure_messages)

    provider = run("playbooks/deploy.yml", {"platform_cluster_provider": "moon"}, tags="crds")
    assert provider.rc != 0 and any("platform_cluster_provider" in m for m in provider.failure_messages)


def test_upgrade_in_place_takes_over_a_drifted_crd(run, crd_api):
    name, key = "bundles.trust.cert-manager.io", "controller-gen.kubebuilder.io/version"
    assert deploy_crds(run, ["trust-manager"]).rc == 0
    upstream = crd_api.read_custom_resource_definition(name).metadata.annotations[key]
    try:
        # Another manager changes a field the platform owns (as an older chart or a hand edit would).
        crd_api.patch_custom_resource_definition(name, {"metadata": {"annotations": {key: "v0.0.0-drift"}}},
                                                 field_manager="someone-else")
        upgraded = deploy_crds(run, ["trust-manager"])
        assert upgraded.rc == 0 and upgraded.changed >= 1, upgraded.failure_messages
        assert crd_api.read_custom_resource_definition(name).metadata.annotations[key] == upstream
    finally:
        assert purge_crds(run, ["trust-manager"]).rc == 0


@pytest.fixture
def crd_mirror():
    """An HTTP mirror of the upstream CRD files on loopback, laid out as <component>/<file>."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SHARED_CRDS))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_url_source_downloads_verifies_and_caches(run, crd_api, crd_mirror, tmp_path):
    names = upstream_crd_names("cert-manager")
    settings = {"crds_source": "url", "crds_url_format": crd_mirror + "/{component}/{name}",
                "crds_download_dir": str(tmp_path / "cache")}
    first = deploy_crds(run, ["cert-manager"], **settings)
    assert first.rc == 0, first.failure_messages
    assert all(established(crd_api, n) for n in names)
    assert sorted(p.name for p in (tmp_path / "cache" / "cert-manager").iterdir()) == sorted(
        p.name for p in (SHARED_CRDS / "cert-manager").iterdir())

    again = deploy_crds(run, ["cert-manager"], **settings)
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()

    wrong = deploy_crds(run, ["trust-manager"], **{**settings, "crds_url_format": crd_mirror + "/cert-manager/{name}"})
    assert wrong.rc != 0 and present(crd_api, upstream_crd_names("trust-manager")) == []
    assert purge_crds(run, ["cert-manager"]).rc == 0
