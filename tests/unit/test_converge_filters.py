"""Filters that let a converge skip what is already as wanted: Helm releases, CRDs, namespaces and policies."""

import sys
from datetime import datetime, timezone

from paths import ROOT

sys.path.insert(0, str(ROOT / "plugins" / "filter"))
from crds import crd_stamped, crds_pending  # noqa: E402  pylint: disable=wrong-import-position
from k8s_compare import k8s_changed  # noqa: E402  pylint: disable=wrong-import-position
from release import helm_changes, helm_levels, release_values, value_changes  # noqa: E402  pylint: disable=wrong-import-position

CHARTS = {"mlflow": {"own": True, "version": "0.1.0", "level": 3}, "jaeger": {"version": "4.11.1", "level": 1}}
MLFLOW = {"name": "mlflow", "namespace": "mlflow", "chart": "mlflow", "values": {"replicas": 1, "image": {"tag": "3"}}}
JAEGER = {"name": "jaeger", "namespace": "observability", "chart": "jaeger", "values": {}}
NO_MIRROR = {"registry": ""}


def record(release, revision=1, status="deployed", version="0.1.0", config=None):
    return {"name": release["name"], "namespace": release["namespace"], "revision": revision, "status": status,
            "chart": release["chart"], "chart_version": version,
            "config": release["values"] if config is None else config}


def reasons(releases, records, mirror=NO_MIRROR):
    return {r["name"]: r["reason"] for r in helm_changes(releases, records, CHARTS, mirror)}


def test_an_unchanged_release_needs_no_helm():
    assert not reasons([MLFLOW], [record(MLFLOW, 1, "superseded"), record(MLFLOW, 2)])


def test_what_makes_a_release_need_helm():
    assert reasons([MLFLOW, JAEGER], [record(JAEGER, version="4.11.1")]) == {"mlflow": "not installed"}
    assert reasons([MLFLOW], [record(MLFLOW, version="0.0.9")]) == {"mlflow": "chart 0.0.9 -> 0.1.0"}
    assert reasons([MLFLOW], [record(MLFLOW, config={"replicas": 2, "image": {"tag": "3"}})]) == {
        "mlflow": "values changed: replicas: 2 -> 1"}
    assert reasons([MLFLOW], [record(MLFLOW, 1), record(MLFLOW, 2, "failed")]) == {
        "mlflow": "revision 2 is failed"}, "the newest revision decides"
    assert reasons([MLFLOW], [record(MLFLOW)], {"registry": "m.test"}) == {"mlflow": "values changed: global: added"}, (
        "setting the mirror upgrades")


def test_removal_needs_helm_only_for_installed_releases():
    gone = [{**MLFLOW, "state": "absent"}, {**JAEGER, "state": "absent"}]
    assert reasons(gone, [record(MLFLOW, status="failed")]) == {"mlflow": "installed"}


def test_value_changes_name_paths_and_mask_secrets():
    old = {"a": {"b": 1, "password": "old-secret"}, "gone": {"x": 1}}
    new = {"a": {"b": 2, "password": "new-secret"}, "new": 1}
    assert value_changes(old, new) == ["a.b: 1 -> 2", "a.password: (secret) changed", "gone: removed", "new: added"]


def test_levels_and_mirror_marker():
    assert helm_levels([MLFLOW, JAEGER, MLFLOW], CHARTS) == [1, 3]
    assert release_values(MLFLOW, {"registry": "m.test"})["global"] == {"mlopsPlatform": {"imageMirror": "m.test"}}
    assert release_values(MLFLOW, NO_MIRROR) == MLFLOW["values"]


ENTRY = [{"key": "volcano", "value": {}}, {"crd": "queues.scheduling.volcano.sh", "sha256": "abc"}]


def crd(sha="abc", managers=("mlops-platform",), established=None):
    obj = {"metadata": {"name": "queues.scheduling.volcano.sh", "annotations": {"mlops.platform/crd-sha256": sha},
                        "managedFields": [{"manager": m, "operation": "Apply"} for m in managers]
                        + [{"manager": "kube-apiserver", "operation": "Update", "subresource": "status"}]}}
    if established is not None:
        obj["status"] = {"conditions": [{"type": "Established", "status": "True" if established else "False"}]}
    return obj


def test_a_crd_is_applied_when_missing_of_another_file_edited_by_someone_else_or_not_established():
    assert crds_pending([ENTRY], [crd()], "mlops-platform") == []
    assert crds_pending([ENTRY], [], "mlops-platform") == [ENTRY]
    assert crds_pending([ENTRY], [crd(sha="old")], "mlops-platform") == [ENTRY]
    assert crds_pending([ENTRY], [crd(managers=("mlops-platform", "helm"))], "mlops-platform") == [ENTRY]
    assert crds_pending([ENTRY], [crd(established=False)], "mlops-platform") == [ENTRY]
    assert crds_pending([ENTRY], [crd(established=True)], "mlops-platform") == []
    stamped = crd_stamped({"kind": "CustomResourceDefinition", "metadata": {"name": "x", "annotations": {"a": "b"}}}, "abc")
    assert stamped["metadata"]["annotations"] == {"a": "b", "mlops.platform/crd-sha256": "abc"}


def test_k8s_changed_ignores_what_only_the_cluster_adds():
    wanted = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "allow-dns", "namespace": "mlflow", "labels": {"a": "b"}},
              "spec": {"podSelector": {}, "egress": [{"ports": [{"protocol": "UDP", "port": 53}]}]}}
    live = {"kind": "NetworkPolicy", "metadata": {"name": "allow-dns", "namespace": "mlflow", "uid": "1",
                                                  "labels": {"a": "b", "added": "by-someone"}},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"protocol": "UDP", "port": 53}]}]}}
    assert k8s_changed([wanted], [live]) == []
    port_changed = {**live, "spec": {**live["spec"], "egress": [{"ports": [{"protocol": "UDP", "port": 5353}]}]}}
    assert k8s_changed([wanted], [port_changed]) == [wanted]
    assert k8s_changed([wanted], [{**live, "metadata": {**live["metadata"], "namespace": "spark"}}]) == [wanted]
    extra_port = {**live, "spec": {**live["spec"], "egress": [{"ports": [{"protocol": "UDP", "port": 53}, {"port": 1}]}]}}
    assert k8s_changed([wanted], [extra_port]) == [wanted], "a list must match in length"


def test_a_release_left_pending_is_repaired_once_its_operation_cannot_still_run():
    old, recent = "2020-01-01T00:00:00.123456789Z", datetime.now(timezone.utc).isoformat()
    stuck_install = {**record(MLFLOW, 1, "pending-install"), "updated": old}
    stuck_upgrade = {**record(MLFLOW, 2, "pending-upgrade"), "updated": old}
    [install] = helm_changes([MLFLOW], [stuck_install], CHARTS, NO_MIRROR, "10m")
    assert install["recovery"] == "uninstall" and install["reason"].startswith("revision 1 pending-install for ")
    [upgrade] = helm_changes([MLFLOW], [record(MLFLOW, 1, "superseded"), stuck_upgrade], CHARTS, NO_MIRROR, "10m")
    assert upgrade["recovery"] == "rollback"
    [busy] = helm_changes([MLFLOW], [{**stuck_upgrade, "updated": recent}], CHARTS, NO_MIRROR, "10m")
    assert busy.get("busy") and "recovery" not in busy, "a young pending operation may still be running"
    [forced] = helm_changes([MLFLOW], [{**stuck_upgrade, "updated": recent}], CHARTS, NO_MIRROR, "10m", True)
    assert forced["recovery"] == "rollback"
    [removal] = helm_changes([{**MLFLOW, "state": "absent"}], [stuck_upgrade], CHARTS, NO_MIRROR, "10m")
    assert removal["recovery"] == "uninstall"
