"""The drift alert path and MLflow's scrape as the observability and mlflow roles render them, run by the real
Prometheus 2.42 and Alertmanager 0.25 (Debian packages prometheus, unpacked, and prometheus-alertmanager; the
operator-managed pods run newer images, which Debian does not package): Prometheus loads the rules of our
PrometheusRule, scrapes a drift detector's counter and MLflow's metrics sidecar with the ServiceMonitor's scheme, path
and TLS server name, and sends to Alertmanager, whose route is what prometheus-operator makes of our
AlertmanagerConfig (matcher strategy None: the role's setting); a local receiver gets what the webhook gets."""

import http.server
import json
import os
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import Runner
from local_pods import by_kind
from mlflow_local import (ADMIN_PASSWORD, container_env, free_port, issue_certificate, local_command, mlflow_chart_objects,
                          request, wait_for)
from paths import CACHE

PROMETHEUS = CACHE / "promtool/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"  # installed: it reads its default templates from /usr/share
ADDRESSES = {"prometheus": "127.0.0.41", "alertmanager": "127.0.0.42", "receiver": "127.0.0.43", "detector": "127.0.0.44"}
TOKEN = "dr1ftT0ken"


class Recorder(http.server.BaseHTTPRequestHandler):
    """The drift webhook's receiver (POST bodies kept) and the drift detector's /metrics (the counters set)."""
    posts, counters = [], {}

    def do_POST(self):  # noqa: N802  pylint: disable=invalid-name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.posts.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def do_GET(self):  # noqa: N802  pylint: disable=invalid-name
        text = "".join(f'model_drifted_total{{namespace="seldon-mesh",model="{m}"}} {n}\n'
                       for m, n in Recorder.counters.items())
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(text.encode())

    def log_message(self, *args):  # quiet
        pass


def serve(address):
    server = http.server.ThreadingHTTPServer((address, 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def operator_route(config, webhook_url):
    """prometheus-operator's translation of an AlertmanagerConfig (matcher strategy None: no namespace matcher)."""
    prefix = f"{config['metadata'].get('namespace', 'observability')}/{config['metadata']['name']}/"
    route = config["spec"]["route"]
    translated = {"receiver": prefix + route["receiver"], "group_by": route["groupBy"],
                  "group_wait": route["groupWait"], "repeat_interval": route["repeatInterval"],
                  "matchers": [f'{m["name"]}{m["matchType"]}"{m["value"]}"' for m in route["matchers"]], "continue": True}
    receivers = [{"name": prefix + r["name"], "webhook_configs": [
        {"url": webhook_url, "send_resolved": w["sendResolved"]} for w in r["webhookConfigs"]]}
        for r in config["spec"]["receivers"]]
    return translated, receivers


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("observability-rendered")
    receiver = serve(ADDRESSES["receiver"])
    url = f"http://{ADDRESSES['receiver']}:{receiver.server_address[1]}/hook?token={TOKEN}"
    result = Runner({})("playbooks/images.yml", {"platform_components": {"observability": True},
                                                 "observability_drift_webhook_url": url,
                                                 "platform_render_dir": str(folder)})
    assert result.rc == 0, result.failure_messages
    objects = [o for o in yaml.safe_load_all((folder / "platform-observability.yaml").read_text()) if o]
    yield objects, url
    receiver.shutdown()


@pytest.fixture(scope="module")
def sidecar(mlflow_server, mlflow_pki, mlflow_chart, tmp_path_factory):
    """MLflow's metrics sidecar with a certificate for the names of the chart's Certificate (cert-manager's)."""
    scripts_dir, pod = mlflow_chart
    names = next(o for o in mlflow_chart_objects("Certificate") if o["metadata"]["name"] == "mlflow")["spec"]["dnsNames"]
    tls = tmp_path_factory.mktemp("sidecar-tls")
    issue_certificate(mlflow_pki, tls, names=names)
    container = next(c for c in pod["containers"] if c["name"] == "metrics")
    port = free_port()
    env = container_env(container, {}, {"METRICS_DIR": mlflow_server["env"]["METRICS_DIR"], "TLS_DIR": str(tls),
                                        "METRICS_PORT": str(port), "HOST": "127.0.0.1", "TLS_CHECK_SECONDS": "2",
                                        "SERVER_PORT": mlflow_server["env"]["PORT"],
                                        "CA_FILE": str(mlflow_pki / "ca.crt")})
    proc = subprocess.Popen(local_command(container, scripts_dir), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def monitoring(rendered, sidecar, mlflow_pki, tmp_path_factory):
    """Alertmanager and Prometheus running; yields Prometheus's URL."""
    objects, url = rendered
    work = tmp_path_factory.mktemp("monitoring")
    detector = serve(ADDRESSES["detector"])
    route, receivers = operator_route(by_kind(objects, "AlertmanagerConfig", "platform-observability-model-drift"), url)
    (work / "alertmanager.yml").write_text(yaml.safe_dump({
        "route": {"receiver": "null", "group_by": ["namespace"], "routes": [route]},
        "receivers": [{"name": "null"}, *receivers]}))
    am_port, prom_port = free_port(), free_port()
    processes = [subprocess.Popen(
        [ALERTMANAGER, f"--config.file={work / 'alertmanager.yml'}", f"--storage.path={work / 'am'}",
         f"--web.listen-address={ADDRESSES['alertmanager']}:{am_port}", "--cluster.listen-address="],
        stdout=open(work / "alertmanager.log", "w"), stderr=subprocess.STDOUT)]
    rule = next(o for o in objects if o["kind"] == "PrometheusRule")
    (work / "rules.yml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    monitor = mlflow_chart_objects("ServiceMonitor")[0]["spec"]["endpoints"][0]
    (work / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(work / "rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"{ADDRESSES['alertmanager']}:{am_port}"]}]}]},
        "scrape_configs": [
            {"job_name": "drift-detector", "static_configs": [{"targets": [
                f"{ADDRESSES['detector']}:{detector.server_address[1]}"]}]},
            {"job_name": "mlflow", "scheme": monitor["scheme"], "metrics_path": monitor["path"],
             "tls_config": {"ca_file": str(mlflow_pki / "ca.crt"), "server_name": monitor["tlsConfig"]["serverName"]},
             "static_configs": [{"targets": [sidecar]}]}]}))
    processes.append(subprocess.Popen(
        [PROMETHEUS, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'tsdb'}",
         f"--web.listen-address={ADDRESSES['prometheus']}:{prom_port}"],
        stdout=open(work / "prometheus.log", "w"), stderr=subprocess.STDOUT))
    prometheus = f"http://{ADDRESSES['prometheus']}:{prom_port}"
    assert wait_for(lambda: ready(prometheus), 60), (work / "prometheus.log").read_text()[-3000:]
    yield prometheus
    for proc in processes:
        proc.terminate()
        proc.wait(10)
    detector.shutdown()


def ready(url):
    try:
        with urllib.request.urlopen(url + "/-/ready", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def query(prometheus, expr):
    with urllib.request.urlopen(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr}),
                                timeout=5) as resp:
        return json.loads(resp.read())["data"]["result"]


def test_prometheus_scrapes_mlflow_with_the_service_monitor_s_tls_settings(monitoring, mlflow_server, mlflow_pki):
    assert wait_for(lambda: [r["value"][1] for r in query(monitoring, 'up{job="mlflow"}')] == ["1"], 30), \
        "the sidecar's certificate holds the ServiceMonitor's serverName and the platform CA signs it"
    search = mlflow_server["url"] + "/api/2.0/mlflow/experiments/search?max_results=1"
    assert request(mlflow_pki, search, auth=("admin", ADMIN_PASSWORD))[0] == 200, "a request to count"
    assert wait_for(lambda: query(monitoring, 'mlflow_http_request_total{job="mlflow",status="200"}'), 30), \
        "MLflow's own series, through the sidecar"


def test_a_drifting_model_fires_model_drifted_and_the_webhook_gets_it(monitoring):
    Recorder.counters.update({"fraud": 0, "churn": 7})
    time.sleep(3)  # two scrapes of both before fraud drifts: churn's counter never moves
    Recorder.counters["fraud"] = 2
    assert wait_for(lambda: query(monitoring, 'ALERTS{alertname="ModelDrifted",alertstate="firing"}'), 30)
    assert {r["metric"]["model"] for r in query(monitoring, 'ALERTS{alertname="ModelDrifted"}')} == {"fraud"}
    # Our route's groupWait (30s) before the first notification.
    assert wait_for(lambda: Recorder.posts, 90), "Alertmanager delivered nothing"
    path, payload = Recorder.posts[0]
    assert path == f"/hook?token={TOKEN}", "the URL kept in the Secret, token included"
    assert payload["status"] == "firing" and payload["groupLabels"] == {"namespace": "seldon-mesh", "model": "fraud"}
    (alert,) = payload["alerts"]
    assert alert["labels"]["alertname"] == "ModelDrifted" and alert["labels"]["model"] == "fraud"
    assert alert["annotations"]["summary"] == "Model fraud in seldon-mesh drifted"
    assert alert["annotations"]["description"].endswith("drift detections in the last 15m.")
