"""Every component of the converged platform, as the real API server holds it (upstream charts included)."""

import base64
import json
import re
import shutil
import subprocess

import pytest
import yaml
from kubernetes import client
from kubernetes.utils import parse_quantity

from conftest import gone, secret, upstream_crd_names
from paths import HELM, ROOT

UPSTREAM_RELEASES = {"cert-manager", "trust-manager", "kube-prometheus-stack", "jaeger", "opentelemetry-collector",
                     "strimzi-kafka-operator", "seldon-core-v2-setup", "seldon-core-v2-runtime", "volcano",
                     "csi-driver-nfs"}
OWN_RELEASES = {"platform-pki", "platform-observability", "mlflow", "seldon-platform", "nfs-server", "spark",
                "training", "portal"}
WEBHOOK_TOKEN = "s3cr3tT0ken"  # in tests/platform/settings.yml's drift webhook URL


@pytest.fixture(scope="module")
def apis(platform_kube):
    return (client.CoreV1Api(platform_kube), client.AppsV1Api(platform_kube), client.CustomObjectsApi(platform_kube),
            client.NetworkingV1Api(platform_kube))


def helm_releases(kubeconfig):
    out = subprocess.run([HELM, "list", "-A", "-o", "json", "--kubeconfig", kubeconfig], check=True,
                         capture_output=True, text=True).stdout
    return {r["name"]: r for r in json.loads(out)}


def test_every_release_is_deployed_from_its_pinned_chart(platform):
    releases = helm_releases(platform.kubeconfig)
    assert set(releases) == UPSTREAM_RELEASES | OWN_RELEASES
    assert all(r["status"] == "deployed" for r in releases.values())
    assert releases["kube-prometheus-stack"]["chart"] == "kube-prometheus-stack-88.3.0"
    assert releases["jaeger"]["chart"] == "jaeger-4.11.1"


def test_every_upstream_crd_is_established(platform_kube):
    crds = {c.metadata.name: c for c in client.ApiextensionsV1Api(platform_kube).list_custom_resource_definition().items}
    expected = [n for component in ("cert-manager", "trust-manager", "prometheus-operator", "seldon-core-v2", "strimzi",
                                    "volcano") for n in upstream_crd_names(component)]
    assert len(expected) >= 46
    for name in expected:
        assert any(c.type == "Established" and c.status == "True" for c in crds[name].status.conditions), name


def test_simulated_nodes_are_ready(apis):
    nodes = apis[0].list_node(label_selector="type=kwok").items
    assert len(nodes) == 3 and all({c.type: c.status for c in n.status.conditions}["Ready"] == "True" for n in nodes)


def test_namespaces_enforce_pod_security_and_deny_by_default(apis):
    core, net = apis[0], apis[3]
    levels = {"cert-manager": "restricted", "observability": "restricted", "observability-node": "privileged",
              "mlflow": "restricted", "seldon-mesh": "baseline", "nfs": "privileged", "spark": "restricted",
              "volcano-system": "baseline", "training": "baseline", "portal": "restricted"}
    for namespace, level in levels.items():
        labels = core.read_namespace(namespace).metadata.labels
        assert labels["pod-security.kubernetes.io/enforce"] == level, namespace
        assert labels["mlops.platform/trust-bundle"] == "true"
        policies = {p.metadata.name: p.spec for p in net.list_namespaced_network_policy(namespace).items}
        assert sorted(policies["default-deny"].policy_types) == ["Egress", "Ingress"], namespace
        assert policies["default-deny"].pod_selector.match_labels is None
        assert "allow-dns" in policies
    assert {"allow-kube-api", "allow-webhooks"} <= {p.metadata.name for p in net.list_namespaced_network_policy("cert-manager").items}


def api_server_cidrs(core, discovery):
    """The API server's addresses as the cluster lists them (EndpointSlices and the Service default/kubernetes)."""
    slices = discovery.list_namespaced_endpoint_slice("default", label_selector="kubernetes.io/service-name=kubernetes")
    addresses = {a for s in slices.items for e in s.endpoints for a in e.addresses}
    return sorted(f"{a}/32" for a in addresses | {core.read_namespaced_service("kubernetes", "default").spec.cluster_ip})


def egress(net, namespace, name):
    rule = net.read_namespaced_network_policy(name, namespace).spec.egress
    assert len(rule) == 1, (namespace, name)
    peers = [p.ip_block.cidr if p.ip_block else p.namespace_selector.match_labels["kubernetes.io/metadata.name"]
             for p in rule[0].to]
    return peers, sorted({(p.protocol, p.port) for p in rule[0].ports})


def test_pods_reach_only_the_api_server_and_the_cluster_dns(apis, platform_kube):
    """Egress to the API goes to its addresses only (no longer 443/6443 to the whole internet); DNS to kube-system."""
    core, net = apis[0], apis[3]
    cidrs = api_server_cidrs(core, client.DiscoveryV1Api(platform_kube))
    port = core.read_namespaced_service("kubernetes", "default").spec.ports[0].target_port
    for namespace in ("cert-manager", "observability", "seldon-mesh", "volcano-system", "training"):
        peers, ports = egress(net, namespace, "allow-kube-api")
        assert sorted(peers) == cidrs, namespace
        assert {p for _, p in ports} == {443, int(port)}, namespace
    # Only the pods that need the API (issue 15.6): launchers, not training jobs; in nfs no pod (the CSI pods run in
    # the host network, beyond NetworkPolicies).
    selector = net.read_namespaced_network_policy("allow-kube-api", "training").spec.pod_selector
    assert selector.match_labels == {"mlops.platform/kube-api": "true"} and not selector.match_expressions
    assert "allow-kube-api" not in {p.metadata.name for p in net.list_namespaced_network_policy("nfs").items}
    for namespace in ("mlflow", "spark", "portal"):
        assert egress(net, namespace, "allow-dns") == (["kube-system"], [("TCP", 53), ("UDP", 53)])


def test_observability_egress_is_the_scrape_targets_and_the_drift_webhook(apis):
    """Prometheus: the platform's namespaces, the cluster DNS's metrics, the nodes' kubelet and node-exporter ports
    (their InternalIPs, read at deploy time); Alertmanager: the drift webhook's port; the rest: the namespace."""
    core, net = apis[0], apis[3]
    policies = {p.metadata.name: p.spec for p in net.list_namespaced_network_policy("observability").items}
    nodes = sorted(f"{a.address}/32" for n in core.list_node().items for a in n.status.addresses if a.type == "InternalIP")
    assert len(nodes) == 3, "the simulated nodes have InternalIPs (sim_cluster gives them TEST-NET-1 addresses)"
    scrape_nodes = policies["allow-node-scrape"]
    assert scrape_nodes.pod_selector.match_labels == {"app.kubernetes.io/name": "prometheus"}
    assert sorted(p.ip_block.cidr for p in scrape_nodes.egress[0].to) == nodes
    assert sorted(p.port for p in scrape_nodes.egress[0].ports) == [9100, 10250]
    scrape = policies["allow-prometheus-scrape"]
    assert scrape.pod_selector.match_labels == {"app.kubernetes.io/name": "prometheus"}
    assert [r.to[0].namespace_selector.match_labels for r in scrape.egress] == [
        {"app.kubernetes.io/part-of": "mlops-platform"}, {"kubernetes.io/metadata.name": "kube-system"}]
    assert scrape.egress[0].ports is None and [p.port for p in scrape.egress[1].ports] == [9153]
    webhook = policies["allow-alert-webhook"]  # settings.yml: https://hooks.example.internal/...
    assert webhook.pod_selector.match_labels == {"app.kubernetes.io/name": "alertmanager"}
    assert [p.port for p in webhook.egress[0].ports] == [443]
    for name, spec in policies.items():  # no other way out: no rule open to every namespace, address or port
        for rule in spec.egress or []:
            assert rule.to, (name, "a rule without peers admits every destination")
            for peer in rule.to:
                assert peer.namespace_selector is None or peer.namespace_selector.match_labels, (name, "every namespace")
                assert peer.ip_block is None or name == "allow-alert-webhook" or peer.ip_block.cidr in nodes + api_server_cidrs(
                    core, client.DiscoveryV1Api(net.api_client)), (name, peer.ip_block.cidr)


def test_dns_allows_follow_openshift_and_node_local_dns(platform, platform_kube):
    """A cluster with OpenShift's DNS namespace and NodeLocal DNSCache gets DNS allows for both on the next run,
    and the kube-system one again once they are gone. The same run deletes a baseline allow the baseline no longer
    has (nfs's allow-kube-api of earlier releases), not a chart's policy."""
    core, net = client.CoreV1Api(platform_kube), client.NetworkingV1Api(platform_kube)
    apps = client.AppsV1Api(platform_kube)
    retired = net.read_namespaced_network_policy("default-deny", "nfs")
    net.create_namespaced_network_policy("nfs", {
        "metadata": {"name": "allow-kube-api", "labels": retired.metadata.labels},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 443}]}]}})
    labels = {"k8s-app": "node-local-dns"}
    core.create_namespace({"metadata": {"name": "openshift-dns"}})
    apps.create_namespaced_daemon_set("kube-system", {
        "metadata": {"name": "node-local-dns", "labels": labels},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
            "containers": [{"name": "node-cache", "image": "registry.k8s.io/dns/k8s-dns-node-cache:1.26.4"}]}}}})
    try:
        moved = platform.run("playbooks/deploy.yml")
        assert moved.rc == 0, moved.failure_messages
        assert egress(net, "mlflow", "allow-dns") == (["openshift-dns", "169.254.20.10/32"], [
            ("TCP", 53), ("TCP", 5353), ("UDP", 53), ("UDP", 5353)])
        assert gone(net.read_namespaced_network_policy, "allow-kube-api", "nfs")
        assert {"default-deny", "allow-dns", "allow-nfs"} <= {
            p.metadata.name for p in net.list_namespaced_network_policy("nfs").items}
    finally:
        core.delete_namespace("openshift-dns")
        apps.delete_namespaced_daemon_set("node-local-dns", "kube-system")
        assert gone(core.read_namespace, "openshift-dns")
        assert gone(apps.read_namespaced_daemon_set, "node-local-dns", "kube-system")
    back = platform.run("playbooks/deploy.yml")
    assert back.rc == 0, back.failure_messages
    assert egress(net, "mlflow", "allow-dns") == (["kube-system"], [("TCP", 53), ("UDP", 53)])


def test_platform_ca_issuer_and_trust_bundle(platform, apis):
    objects = apis[2]
    issuer = objects.get_cluster_custom_object("cert-manager.io", "v1", "clusterissuers", "mlops-platform-ca")
    assert issuer["spec"]["ca"]["secretName"] == "mlops-platform-root-ca"
    ca = objects.get_namespaced_custom_object("cert-manager.io", "v1", "cert-manager", "certificates", "mlops-platform-root-ca")
    assert ca["spec"]["isCA"] is True and ca["spec"]["issuerRef"]["name"].endswith("-bootstrap")
    bundle = objects.get_cluster_custom_object("trust.cert-manager.io", "v1alpha1", "bundles", "mlops-platform-ca")
    assert bundle["spec"]["target"]["namespaceSelector"]["matchLabels"] == {"mlops.platform/trust-bundle": "true"}


def certificate_ask(kind, namespace, issuer_kind, issuer):
    """A Certificate or CertificateRequest (as anyone with edit in namespace may create) naming the issuer."""
    ref = {"group": "cert-manager.io", "kind": issuer_kind, "name": issuer}
    spec = ({"secretName": "stolen", "dnsNames": ["mlflow.mlflow.svc"], "issuerRef": ref} if kind == "Certificate"
            else {"request": base64.b64encode(b"not a CSR: refused or admitted before anyone parses it").decode(),
                  "issuerRef": ref})
    return {"apiVersion": "cert-manager.io/v1", "kind": kind, "metadata": {"generateName": "ask-", "namespace": namespace},
            "spec": spec}


@pytest.mark.parametrize(("kind", "namespace", "issuer_kind", "issuer", "refused"), [
    ("Certificate", "mlflow", "ClusterIssuer", "mlops-platform-ca", False),
    ("Certificate", "portal", "ClusterIssuer", "mlops-platform-ca", False),
    ("CertificateRequest", "observability", "ClusterIssuer", "mlops-platform-ca", False),
    ("Certificate", "training", "ClusterIssuer", "mlops-platform-ca", True),
    ("CertificateRequest", "default", "ClusterIssuer", "mlops-platform-ca", True),
    ("Certificate", "spark", "ClusterIssuer", "mlops-platform-ca", True),
    # Seldon's control plane has a CA of its own: its namespace no longer needs (or gets) the platform's.
    ("Certificate", "seldon-mesh", "ClusterIssuer", "mlops-platform-ca", True),
    # An Issuer of that name would be the namespace's own, not the platform CA.
    ("Certificate", "training", "Issuer", "mlops-platform-ca", False),
])
def test_only_the_platform_s_tls_namespaces_may_ask_the_platform_ca(platform_kube, kind, namespace, issuer_kind, issuer,
                                                                    refused):
    """platform-pki's ValidatingAdmissionPolicy, judged by the API server (server-side dry runs)."""
    body = certificate_ask(kind, namespace, issuer_kind, issuer)
    try:
        client.CustomObjectsApi(platform_kube).create_namespaced_custom_object(
            "cert-manager.io", "v1", namespace, kind.lower() + "s", body, dry_run="All")
    except client.ApiException as err:
        assert refused and "mlops-platform-ca-requesters" in err.body and f"namespace {namespace} may not" in err.body, (
            err.body)
    else:
        assert not refused, f"a {kind} in {namespace} was admitted for the platform CA"


def test_seldon_control_plane_certificates_come_from_its_own_ca(apis):
    objects = apis[2]
    certificates = {c["metadata"]["name"]: c["spec"] for c in objects.list_namespaced_custom_object(
        "cert-manager.io", "v1", "seldon-mesh", "certificates")["items"]}
    issuers = {i["metadata"]["name"]: i["spec"] for i in objects.list_namespaced_custom_object(
        "cert-manager.io", "v1", "seldon-mesh", "issuers")["items"]}
    for leaf in ("seldon-controlplane-server", "seldon-controlplane-client"):
        assert certificates[leaf]["issuerRef"] == {"group": "cert-manager.io", "kind": "Issuer",
                                                   "name": "seldon-controlplane"}
    ca_secret = issuers["seldon-controlplane"]["ca"]["secretName"]
    ca = next(c for c in certificates.values() if c["secretName"] == ca_secret)
    assert ca["isCA"] is True and "selfSigned" in issuers[ca["issuerRef"]["name"]]


def test_nothing_is_bound_to_cluster_admin_but_the_cluster_s_own(platform_kube):
    bindings = client.RbacAuthorizationV1Api(platform_kube).list_cluster_role_binding().items
    admins = sorted(b.metadata.name for b in bindings if b.role_ref.name == "cluster-admin")
    assert admins == ["cluster-admin"], admins


def test_credentials_are_generated_independent_and_never_logged(platform, apis):
    core = apis[0]
    admin, database = secret(core, "mlflow", "mlflow-admin"), secret(core, "mlflow", "mlflow-postgresql")
    store, grafana = secret(core, "mlflow", "mlflow-object-store"), secret(core, "observability", "grafana-admin")
    training, reader = secret(core, "mlflow", "mlflow-training"), secret(core, "mlflow", "mlflow-object-store-reader")
    assert admin["username"] == "admin" and len(admin["password"]) == 32 and admin["password"].isalnum()
    assert grafana["admin-user"] == "admin" and len(grafana["admin-password"]) == 32
    assert training["username"] == "training" and len(training["password"]) == 32
    values = [admin["password"], admin["flaskSecretKey"], database["password"], store["secretKey"], grafana["admin-password"],
              training["password"], reader["secretKey"]]
    assert len(set(values)) == 7, "every credential is its own"
    assert base64.b64decode(core.read_namespaced_secret("drift-webhook", "observability").data["url"]).decode().endswith(
        WEBHOOK_TOKEN)
    for value in values + [WEBHOOK_TOKEN]:
        assert value not in platform.converge_log, "a credential was printed by the converge"


def test_mlflow_server_database_and_object_store(apis):
    core, apps, objects, net = apis
    for kind, name in (("deployment", "mlflow"), ("stateful_set", "mlflow-postgresql"), ("stateful_set", "mlflow-minio")):
        assert getattr(apps, f"read_namespaced_{kind}")(name, "mlflow").status.ready_replicas == 1, name
    pod = apps.read_namespaced_deployment("mlflow", "mlflow").spec.template.spec
    assert [c.name for c in pod.init_containers] == ["object-store", "db-upgrade"], "migrations run before the server"
    # The object store's read-only user (model servers download with it), made by object-store.sh from its Secret.
    readers = next(v for v in pod.volumes if v.name == "readers").projected.sources
    assert [(r.secret.name, sorted(i.path for i in r.secret.items)) for r in readers] == [
        ("mlflow-object-store-reader", ["mlflow-object-store-reader/accessKey", "mlflow-object-store-reader/secretKey"])]
    assert all(c.security_context.run_as_non_root and c.security_context.read_only_root_filesystem
               for c in pod.containers + pod.init_containers)
    assert not pod.automount_service_account_token
    # The service users of mlflow_service_users' default (training pods and Spark drivers log as them): their
    # Secrets mounted for users.py.
    users = next(v for v in pod.volumes if v.name == "users").projected.sources
    assert [(u.secret.name, sorted(i.path for i in u.secret.items)) for u in users] == [
        (f"mlflow-{user}", [f"mlflow-{user}/password", f"mlflow-{user}/username"]) for user in ("training", "spark")]
    assert {e.name: e.value for e in pod.containers[0].env}["USERS_DIR"] == "/etc/mlflow/users"
    cert = objects.get_namespaced_custom_object("cert-manager.io", "v1", "mlflow", "certificates", "mlflow")
    assert cert["spec"]["issuerRef"]["name"] == "mlops-platform-ca" and "mlflow.mlflow.svc" in cert["spec"]["dnsNames"]
    monitor = objects.get_namespaced_custom_object("monitoring.coreos.com", "v1", "mlflow", "servicemonitors", "mlflow")
    assert [(e["port"], "basicAuth" in e) for e in monitor["spec"]["endpoints"]] == [("metrics", False)], \
        "Prometheus scrapes the metrics sidecar and holds no MLflow credential"
    policies = {p.metadata.name for p in net.list_namespaced_network_policy("mlflow").items}
    assert {"default-deny", "mlflow-server", "mlflow-postgresql", "mlflow-minio"} <= policies
    rules = net.read_namespaced_network_policy("mlflow-server", "mlflow").spec.ingress

    def admitted(rule):
        return {n.metadata.name for n in core.list_namespace().items if any(
            all((n.metadata.labels or {}).get(k) == v for k, v in s.namespace_selector.match_labels.items())
            for s in rule._from)}
    assert [[p.port for p in r.ports] for r in rules] == [[5000], [9102]]
    assert admitted(rules[0]) & {"spark", "training"} == {"spark", "training"}, "Spark drivers and rank 0 log to MLflow"
    assert not admitted(rules[0]) & {"nfs", "observability", "observability-node", "seldon-mesh", "volcano-system",
                                     "portal", "cert-manager"}, (
        "no other platform namespace reaches the MLflow API (the privileged nfs one least of all)", admitted(rules[0]))
    assert admitted(rules[1]) == {"observability"}, "only Prometheus reaches the metrics port"
    claims = core.list_namespaced_persistent_volume_claim("mlflow").items
    assert sorted(c.metadata.name for c in claims) == ["data-mlflow-minio-0", "data-mlflow-postgresql-0"]
    assert all(c.status.phase == "Bound" for c in claims)


def test_every_bound_platform_volume_is_retained(apis, platform_kube):
    core = apis[0]
    platform_namespaces = {n.metadata.name for n in core.list_namespace(
        label_selector="app.kubernetes.io/part-of=mlops-platform").items}
    bound = [v for v in core.list_persistent_volume().items
             if v.spec.claim_ref and v.spec.claim_ref.namespace in platform_namespaces]
    assert len(bound) >= 5  # MLflow's database and object store, Grafana, the NFS server, Spark's shared claim
    assert all(v.spec.persistent_volume_reclaim_policy == "Retain" for v in bound), [v.metadata.name for v in bound]


def test_observability_dashboards_rules_and_drift_route(apis):
    core, _, objects, _ = apis
    ours = "app.kubernetes.io/instance=platform-observability"
    assert len(core.list_namespaced_config_map("observability", label_selector=f"{ours},grafana_dashboard=1").items) == 5
    assert core.list_namespaced_config_map("observability", label_selector=f"{ours},grafana_datasource=1").items
    rule = objects.get_namespaced_custom_object("monitoring.coreos.com", "v1", "observability", "prometheusrules",
                                                "platform-observability")
    assert "ModelDrifted" in [r.get("alert") for g in rule["spec"]["groups"] for r in g["rules"]]
    route = objects.get_namespaced_custom_object("monitoring.coreos.com", "v1alpha1", "observability", "alertmanagerconfigs",
                                                 "platform-observability-model-drift")
    assert route["spec"]["receivers"][0]["webhookConfigs"][0]["urlSecret"]["name"] == "drift-webhook"
    assert core.read_namespace("observability").metadata.labels["mlops.platform/role"] == "observability"
    prometheus = objects.get_namespaced_custom_object("monitoring.coreos.com", "v1", "observability", "prometheuses",
                                                      "kube-prometheus-stack-prometheus")
    assert prometheus["spec"]["retention"] == "15d"


def test_target_down_alert_and_overview_watch_every_platform_namespace(apis):
    core, _, objects, _ = apis
    platform = {n.metadata.name for n in core.list_namespace(label_selector="app.kubernetes.io/part-of=mlops-platform").items}
    assert {"training", "nfs", "portal", "observability-node"} <= platform
    rule = objects.get_namespaced_custom_object("monitoring.coreos.com", "v1", "observability", "prometheusrules",
                                                "platform-observability")
    [down] = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == "PlatformTargetDown"]
    overview = core.read_namespaced_config_map("platform-observability-dashboard-platform-overview", "observability")
    for query in (down, overview.data["platform-overview.json"].replace('\\"', '"')):
        watched = re.search(r'namespace=~"([^"]+)"', query).group(1)
        assert set(watched.split("|")) == platform, (query, platform)


def seldon_objects(objects, plural, group="mlops.seldon.io", version="v1alpha1"):
    items = objects.list_namespaced_custom_object(group, version, "seldon-mesh", plural)["items"]
    return {o["metadata"]["name"]: o for o in items}


def test_seldon_kafka_servers_runtime_and_model_storage(apis):
    core, _, objects, _ = apis
    assert core.read_namespace("seldon-mesh").metadata.labels["mlops.platform/role"] == "model-serving"
    kafka = seldon_objects(objects, "kafkas", "kafka.strimzi.io", "v1beta2")["seldon"]
    listener = kafka["spec"]["kafka"]["listeners"][0]
    assert (listener["port"], listener["tls"], listener["authentication"]["type"]) == (9093, True, "tls")
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    pool = seldon_objects(objects, "kafkanodepools", "kafka.strimzi.io", "v1beta2")["seldon-dual-role"]
    assert pool["spec"]["storage"]["volumes"][0]["deleteClaim"] is False, "Kafka's data outlives its resource"
    user = seldon_objects(objects, "kafkausers", "kafka.strimzi.io", "v1beta2")["seldon"]
    assert {(a["resource"]["type"], a["resource"]["name"], a["resource"]["patternType"]) for a in
            user["spec"]["authorization"]["acls"]} == {("topic", "seldon", "prefix"), ("group", "seldon", "prefix")}
    server = seldon_objects(objects, "servers")["mlserver"]
    rclone = next(c for c in server["spec"]["podSpec"]["containers"] if c["name"] == "rclone")
    assert {"name": "SSL_CERT_FILE", "value": "/etc/platform-ca/ca.crt"} in rclone["env"], "rclone trusts the platform CA"
    assert "seldon" in seldon_objects(objects, "seldonruntimes") and "default" in seldon_objects(objects, "seldonconfigs")
    remote = yaml.safe_load(base64.b64decode(core.read_namespaced_secret("seldon-models-s3", "seldon-mesh").data["s3"]))
    assert remote["type"] == "s3" and remote["name"] == "s3"
    assert remote["parameters"]["secret_access_key"] == secret(core, "mlflow", "mlflow-object-store-reader")["secretKey"]
    assert remote["parameters"]["endpoint"] == "https://mlflow-minio.mlflow.svc:9000"
    certificates = objects.list_namespaced_custom_object("cert-manager.io", "v1", "seldon-mesh", "certificates")["items"]
    assert {c["spec"]["secretName"] for c in certificates} == {
        "seldon-controlplane-ca", "seldon-controlplane-server", "seldon-controlplane-client"}
    assert apps_ready(apis[1], "seldon-mesh", {"strimzi-cluster-operator", "seldon-v2-controller-manager"})
    inference = apis[3].read_namespaced_network_policy("allow-inference-clients", "seldon-mesh").spec
    assert inference.pod_selector.match_labels == {"app.kubernetes.io/name": "seldon-envoy"}, (
        "inference clients reach Envoy only, never the servers' own ports")
    assert [p.port for rule in inference.ingress for p in rule.ports] == [9000]


TRAINER = {"name": "trainer", "image": "registry.mlops.test/mlops-platform/launcher:0.1.0", "securityContext": {}}


def volcano_job(pod):
    """A Volcano Job as TorchX submits it (one task, the pod spec of its role), with pod merged in."""
    return {"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job", "metadata": {"generateName": "sandbox-"},
            "spec": {"schedulerName": "volcano", "queue": "training", "minAvailable": 1, "tasks": [
                {"name": "trainer", "replicas": 1,
                 "template": {"spec": {"restartPolicy": "Never", "containers": [TRAINER], **pod}}}]}}


@pytest.mark.parametrize(("pod", "refusal"), [
    ({"volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}]}, None),
    ({"hostNetwork": True}, "host's network"),
    ({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}, "host paths"),
    ({"containers": [{**TRAINER, "securityContext": {"privileged": True}}]}, "privileged"),
    ({"initContainers": [{**TRAINER, "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]}, "capabilities"),
    ({"containers": [{**TRAINER, "ports": [{"containerPort": 29500, "hostPort": 29500}]}]}, "host ports"),
    ({"volumes": [{"name": "s", "secret": {"secretName": "launcher-token"}}]}, "only these Secrets"),
    ({"volumes": [{"name": "p", "projected": {"sources": [{"secret": {"name": "launcher-token"}}]}}]}, "only these Secrets"),
    ({"containers": [{**TRAINER, "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "x", "key": "k"}}}]}]},
     "only these Secrets"),
    ({"containers": [{**TRAINER, "envFrom": [{"secretRef": {"name": "x"}}]}]}, "only these Secrets"),
    # The MLflow credential submit.py gives every training pod (volcano_mlflow_credentials).
    ({"containers": [{**TRAINER, "env": [{"name": "MLFLOW_TRACKING_PASSWORD", "valueFrom": {"secretKeyRef": {
        "name": "mlflow-training", "key": "password"}}}]}]}, None),
    ({"serviceAccountName": "torchx-submitter"}, "ServiceAccounts"),
])
def test_training_jobs_stay_in_their_sandbox(platform_kube, pod, refusal):
    """The training chart's ValidatingAdmissionPolicy, judged by the API server (server-side dry runs)."""
    try:
        client.CustomObjectsApi(platform_kube).create_namespaced_custom_object(
            "batch.volcano.sh", "v1alpha1", "training", "jobs", volcano_job(pod), dry_run="All")
    except client.ApiException as err:
        assert refusal and refusal in err.body and "training-training-jobs" in err.body, err.body
    else:
        assert refusal is None, f"a job with {pod} was admitted"


def test_training_jobs_cannot_take_the_launchers_way_to_the_api(platform_kube):
    """Only pods labelled mlops.platform/kube-api reach the API server (allow-kube-api in training): the job policy
    refuses that label on training job pods."""
    job = volcano_job({})
    job["spec"]["tasks"][0]["template"]["metadata"] = {"labels": {"mlops.platform/kube-api": "true"}}
    with pytest.raises(client.ApiException) as refused:
        client.CustomObjectsApi(platform_kube).create_namespaced_custom_object(
            "batch.volcano.sh", "v1alpha1", "training", "jobs", job, dry_run="All")
    assert "may not carry the label mlops.platform/kube-api" in refused.value.body, refused.value.body


def apps_ready(apps, namespace, names):
    ready = {d.metadata.name for d in apps.list_namespaced_deployment(namespace).items
             if d.status.ready_replicas == d.spec.replicas}
    return names <= ready


def test_nfs_and_spark_share_a_retained_read_write_many_volume(apis, platform_kube):
    core, apps = apis[0], apis[1]
    nfs_class = client.StorageV1Api(platform_kube).read_storage_class("nfs")
    assert nfs_class.provisioner == "nfs.csi.k8s.io" and nfs_class.reclaim_policy == "Retain"
    assert nfs_class.parameters["server"] == "nfs-server.nfs.svc.cluster.local"
    assert (nfs_class.parameters["share"], nfs_class.parameters["mountPermissions"]) == ("/exports", "0777")
    assert apps.read_namespaced_stateful_set("nfs-server", "nfs").status.ready_replicas == 1
    # Only the nodes mount (issue 15.1): the nodes' InternalIPs, read at deploy, in the export and the policy alike.
    nodes = sorted(a.address + "/32" for n in core.list_node().items for a in n.status.addresses if a.type == "InternalIP")
    assert len(nodes) == 3
    allowed = apis[3].read_namespaced_network_policy("allow-nfs", "nfs").spec.ingress
    assert [sorted(p.ip_block.cidr for p in rule._from) for rule in allowed] == [nodes], "no pod reaches NFS"
    config = core.read_namespaced_config_map("nfs-server", "nfs").data["ganesha.conf"]
    assert f"Clients = {', '.join(nodes)};" in config and "Squash = Root_Squash;" in config
    server = apps.read_namespaced_stateful_set("nfs-server", "nfs").spec.template.spec.containers[0]
    assert not server.security_context.privileged and server.security_context.capabilities.drop == ["ALL"]
    assert server.image == "registry.mlops.test/mlops-platform/nfs-server:4.3"
    driver = client.StorageV1Api(platform_kube).read_csi_driver("nfs.csi.k8s.io")
    assert driver.spec.fs_group_policy != "File", "the kubelet would chown as squashed root"
    assert apps.read_namespaced_daemon_set("csi-nfs-node", "nfs").status.number_ready == 3, "the CSI node plugin on every node"
    for name, replicas in (("spark-master", 1), ("spark-worker", 1)):
        assert apps.read_namespaced_deployment(name, "spark").status.ready_replicas == replicas, name
    claim = core.read_namespaced_persistent_volume_claim("spark-shared", "spark")
    assert claim.status.phase == "Bound" and claim.spec.access_modes == ["ReadWriteMany"]
    assert claim.spec.storage_class_name == "nfs", "the nfs role's class, as on a real cluster"
    worker = apps.read_namespaced_deployment("spark-worker", "spark").spec.template.spec
    assert {m.name: m.mount_path for m in worker.containers[0].volume_mounts}["shared"] == "/shared"
    fields = {e.name: e.value_from.field_ref.field_path for e in worker.containers[0].env
              if e.value_from and e.value_from.field_ref}
    assert fields["SPARK_DRIVER_HOST"] == "status.podIP"
    defaults = dict(line.split(None, 1) for line in core.read_namespaced_config_map(
        "spark-defaults", "spark").data["spark-defaults.conf"].splitlines() if line.strip())
    assert defaults["spark.driver.host"] == "${env:SPARK_DRIVER_HOST}"
    assert (defaults["spark.driver.port"], defaults["spark.driver.blockManager.port"]) == ("7078", "7079")
    assert defaults["spark.master"] == "spark://spark-master.spark.svc:7077"
    assert core.read_namespaced_service("spark-driver", "spark").spec.cluster_ip == "None"
    # Authenticated, encrypted RPC with the generated secret; no kill links (tests/integration/test_spark_local.py
    # runs the real Spark with these).
    assert (defaults["spark.authenticate"], defaults["spark.network.crypto.enabled"],
            defaults["spark.ui.killEnabled"]) == ("true", "true", "false")
    assert len(secret(core, "spark", "spark-auth")["secret"]) == 32
    assert secret(core, "spark", "mlflow-spark") == secret(core, "mlflow", "mlflow-spark"), "drivers' MLflow user"
    assert secret(core, "spark", "mlflow-spark")["username"] == "spark"
    for name in ("spark-master", "spark-worker"):
        env = apps.read_namespaced_deployment(name, "spark").spec.template.spec.containers[0].env
        assert [(e.value_from.secret_key_ref.name, e.value_from.secret_key_ref.key) for e in env
                if e.name == "_SPARK_AUTH_SECRET"] == [("spark-auth", "secret")], name


SUBMITTER = "system:serviceaccount:training:torchx-submitter"


def test_volcano_queues_from_the_inventory(apis):
    objects = apis[2]
    queues = {q["metadata"]["name"]: q["spec"] for q in objects.list_cluster_custom_object(
        "scheduling.volcano.sh", "v1beta1", "queues")["items"]}
    assert queues["training"]["weight"] == 3 and queues["training"]["capability"] == {"cpu": "16", "memory": "64Gi"}
    assert queues["experiments"]["reclaimable"] is False
    assert apps_ready(apis[1], "volcano-system", {"volcano-scheduler", "volcano-controllers", "volcano-admission"})


@pytest.mark.parametrize(("group", "resource", "verb", "namespace", "allowed"), [
    ("batch.volcano.sh", "jobs", "create", "training", True),
    ("batch.volcano.sh", "jobs", "delete", "training", True),
    ("", "pods/log", "get", "training", True),
    ("scheduling.volcano.sh", "podgroups", "watch", "training", True),
    ("scheduling.volcano.sh", "queues", "list", None, True),
    ("", "secrets", "get", "training", False),
    ("", "configmaps", "create", "training", False),
    ("", "pods/exec", "create", "training", False),
    ("batch.volcano.sh", "jobs", "create", "default", False),
    ("scheduling.volcano.sh", "queues", "create", None, False),
    ("rbac.authorization.k8s.io", "rolebindings", "create", "training", False),
])
def test_submitter_rights_are_least_privilege(platform_kube, group, resource, verb, namespace, allowed):
    """Real SubjectAccessReviews: the API server's own authorizer answers for the submitter's ServiceAccount."""
    name, _, sub = resource.partition("/")
    review = client.AuthorizationV1Api(platform_kube).create_subject_access_review({
        "spec": {"user": SUBMITTER, "groups": ["system:serviceaccounts", "system:serviceaccounts:training"],
                 "resourceAttributes": {"group": group, "resource": name, "subresource": sub, "verb": verb,
                                        **({"namespace": namespace} if namespace else {})}}})
    assert review.status.allowed is allowed, (resource, verb, namespace, review.status.reason)


def test_portal_links_what_is_deployed_with_the_platform_ca(apis):
    core, apps, objects, net = apis
    assert apps.read_namespaced_deployment("portal", "portal").status.ready_replicas == 1
    page = core.read_namespaced_config_map("portal-page", "portal").data["index.html"]
    for title in ("MLflow", "Grafana", "Prometheus", "Alertmanager", "Jaeger", "Spark master"):
        assert f">{title}<" in page or f">{title}</" in page or title in page, title
    assert "mlflow/mlflow-admin (username, password)" in page
    assert "observability/grafana-admin (admin-user, admin-password)" in page
    assert "svc/spark-master 8080:8080" in page
    assert "training (Queue)" in page and "experiments (Queue)" in page, "Volcano's queues are shown"
    ingress = net.read_namespaced_ingress("portal", "portal")
    assert ingress.spec.rules[0].host == "portal.mlops.test" and ingress.spec.tls[0].secret_name == "portal-tls"
    certificate = objects.get_namespaced_custom_object("cert-manager.io", "v1", "portal", "certificates", "portal-tls")
    assert certificate["spec"]["issuerRef"]["name"] == "mlops-platform-ca"
    assert certificate["spec"]["dnsNames"] == ["portal.mlops.test"]


def independent_footprint(core):
    """Requests of the live pods of the platform's namespaces (CPU cores, GiB), and the nodes' allocatable cores."""
    namespaces = {n.metadata.name for n in core.list_namespace(label_selector="app.kubernetes.io/part-of=mlops-platform").items}
    pods = [p for p in core.list_pod_for_all_namespaces().items
            if p.metadata.namespace in namespaces and p.status.phase not in ("Succeeded", "Failed")]

    def requested(resource):
        return float(sum(max(sum(parse_quantity((c.resources.requests or {}).get(resource, "0")) for c in p.spec.containers),
                             max([parse_quantity((c.resources.requests or {}).get(resource, "0"))
                                  for c in p.spec.init_containers or []], default=0)) for p in pods))
    allocatable = sum(parse_quantity(n.status.allocatable["cpu"]) for n in core.list_node().items)
    return requested("cpu"), requested("memory") / 2**30, float(allocatable), namespaces


def test_summary_links_logins_and_the_whole_platform_s_footprint(platform, apis):
    core = apis[0]
    summary = platform.run("playbooks/summary.yml")
    assert summary.rc == 0 and summary.changed == 0, summary.failure_messages
    said = summary.results("Summary")["localhost"]["msg"]
    assert "Portal: https://portal.mlops.test" in said["user_interfaces"]
    assert any(line.startswith("MLflow: kubectl -n mlflow port-forward") and "mlflow/mlflow-admin" in line
               for line in said["user_interfaces"])
    assert any(line.startswith("Grafana:") and "observability/grafana-admin" in line for line in said["user_interfaces"])
    password = secret(core, "mlflow", "mlflow-admin")["password"]
    assert password not in summary.stdout and password not in summary.stderr
    cpu, memory, allocatable, namespaces = independent_footprint(core)
    footprint = said["footprint"]
    assert set(footprint["namespaces"]) <= namespaces
    assert {"cert-manager", "observability", "mlflow", "seldon-mesh", "nfs", "spark", "volcano-system", "portal"} <= set(
        footprint["namespaces"]), "upstream releases' pods count too"
    # Running pods, counted independently, plus the pods operators start (nothing runs them here): Prometheus,
    # Alertmanager, the Kafka node, Seldon's scheduler, Envoy, two gateways, dataflow engine and the MLServer.
    started = {k: footprint["total"][k] - footprint["not_started"][k] for k in ("cpu", "memory")}
    assert abs(started["cpu"] - cpu) < 0.001 and abs(started["memory"] - memory) < 0.01
    assert footprint["not_started"]["pods"] == 9 and footprint["not_started"]["cpu"] > 1
    assert footprint["allocatable"]["cpu"] == allocatable
    # The defaults fit a 4-vCPU / 8 GiB laptop cluster (requests, Spark and operator-started pods included).
    assert footprint["total"]["cpu"] <= 4 and footprint["total"]["memory"] <= 8, footprint["total"]


def test_check_mode_changes_nothing_and_its_footprint_is_the_plan_s(platform):
    checked = platform.run("playbooks/site.yml", check=True)
    assert checked.rc == 0 and checked.changed == 0, checked.changed_tasks() or checked.failure_messages
    planned = checked.results("Summary")["localhost"]["msg"]
    assert planned["footprint_of"].startswith("the plan")
    running = platform.run("playbooks/summary.yml").results("Summary")["localhost"]["msg"]
    assert running["footprint_of"] == "the pods in the cluster"
    # The plan's releases rendered and turned into pods give what the deployed platform requests.
    assert planned["footprint"]["namespaces"] == running["footprint"]["namespaces"]
    assert planned["footprint"]["total"] == running["footprint"]["total"]


def test_check_mode_previews_a_values_change_without_making_it(platform, platform_kube):
    apps = client.AppsV1Api(platform_kube)
    before = helm_releases(platform.kubeconfig)["spark"]["revision"]
    preview = platform.run("playbooks/deploy.yml", {"spark_workers": 2}, check=True, diff=True)
    assert preview.rc == 0 and preview.changed >= 1, preview.failure_messages
    reasons = {item["item"]["name"]: item["item"]["reason"] for play in preview.report["plays"] for task in play["tasks"]
               if "Helm releases of level" in task["task"]["name"]
               for item in task["hosts"].get("localhost", {}).get("results", []) if item.get("changed")}
    assert reasons == {"spark": "values changed: workers.replicas: 1 -> 2"}
    assert helm_releases(platform.kubeconfig)["spark"]["revision"] == before
    assert apps.read_namespaced_deployment("spark-worker", "spark").spec.replicas == 1


def test_check_mode_previews_a_chart_version_bump_without_making_it(platform, tmp_path):
    """The collection with the portal chart at a new version (as an upgrade of the collection brings it)."""
    copy = tmp_path / "collection"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=shutil.ignore_patterns(".venv", ".git", ".ansible", "__pycache__"))
    chart, pins = copy / "charts/portal/Chart.yaml", copy / "roles/platform/vars/main.yml"
    version = yaml.safe_load(chart.read_text())["version"]
    bumped = version.rsplit(".", 1)[0] + "." + str(int(version.rsplit(".", 1)[1]) + 1)
    chart.write_text(chart.read_text().replace(f"version: {version}", f"version: {bumped}", 1))
    pins.write_text(pins.read_text().replace(f"portal: {{own: true, version: {version},", f"portal: {{own: true, version: {bumped},"))
    link = copy / ".ansible/collections/ansible_collections/mlops/platform"
    link.parent.mkdir(parents=True)
    link.symlink_to(copy)
    before = helm_releases(platform.kubeconfig)["portal"]
    preview = platform.run("playbooks/deploy.yml", check=True, diff=True, root=copy)
    assert preview.rc == 0 and preview.changed >= 1, preview.failure_messages
    reasons = {item["item"]["name"]: item["item"]["reason"] for play in preview.report["plays"] for task in play["tasks"]
               if "Helm releases of level" in task["task"]["name"]
               for item in task["hosts"].get("localhost", {}).get("results", []) if item.get("changed")}
    assert reasons == {"portal": f"chart {version} -> {bumped}"}
    assert helm_releases(platform.kubeconfig)["portal"] == before
