"""Check mode previews a first install: `--check` on a cluster without the platform runs to the end, reports what a
real run would change, and changes nothing (every object of the cluster compared before and after)."""

from kubernetes import dynamic

KINDS = [("v1", "Namespace"), ("v1", "Secret"), ("v1", "ConfigMap"), ("v1", "ServiceAccount"), ("v1", "Service"),
         ("v1", "PersistentVolume"), ("v1", "PersistentVolumeClaim"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
         ("apps/v1", "DaemonSet"), ("networking.k8s.io/v1", "NetworkPolicy"), ("storage.k8s.io/v1", "StorageClass"),
         ("rbac.authorization.k8s.io/v1", "ClusterRole"), ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
         ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
         ("apiextensions.k8s.io/v1", "CustomResourceDefinition")]


def snapshot(kube):
    """Every object of those kinds, with its resourceVersion (a change of any object changes it)."""
    api = dynamic.DynamicClient(kube)
    return {(kind, o.metadata.namespace, o.metadata.name): o.metadata.resourceVersion
            for version, kind in KINDS for o in api.resources.get(api_version=version, kind=kind).get().items}


def test_check_mode_previews_a_first_install_and_changes_nothing(run, kube):
    before = snapshot(kube)
    assert not {k for k in before if k[0] == "Namespace" and k[2] in ("mlflow", "observability", "seldon-mesh")}
    preview = run("playbooks/site.yml", check=True, diff=True)
    assert preview.rc == 0, preview.failure_messages
    changed = [t.split(" : ")[-1] for t in preview.changed_tasks()]
    assert "Apply the CRDs that are missing, of another release or changed by someone else" in changed
    assert "Namespaces and their network baseline (those missing or not as wanted)" in changed
    would_create = preview.results("Would create in namespaces this run creates (check mode)")["localhost"]["msg"]
    assert "Secret/mlflow/mlflow-admin" in would_create and "NetworkPolicy/spark/default-deny" in would_create
    installs = {item["item"]["name"]: item["item"]["reason"] for play in preview.report["plays"] for task in play["tasks"]
                if "Helm releases of level" in task["task"]["name"]
                for item in task["hosts"].get("localhost", {}).get("results", []) if item.get("changed")}
    assert len(installs) == 18 and set(installs.values()) == {"not installed"}, installs
    summary = preview.results("Summary")["localhost"]["msg"]
    footprint = summary["footprint"]
    assert summary["footprint_of"].startswith("the plan"), "nothing runs yet: the footprint is the plan's"
    assert {"cert-manager", "observability", "mlflow", "seldon-mesh", "spark", "volcano-system"} <= set(footprint["namespaces"])
    assert footprint["total"]["pods"] == footprint["not_started"]["pods"] > 20 and footprint["total"]["cpu"] > 1
    assert snapshot(kube) == before, "check mode changed nothing"
