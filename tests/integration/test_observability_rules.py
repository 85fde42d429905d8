"""The observability chart's alert rules and dashboards, checked by a real promtool (Debian's prometheus package)."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from paths import HELM

PROMTOOL = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mlops-platform/promtool/usr/bin/promtool"


@pytest.fixture(scope="module")
def rendered():
    out = subprocess.run([HELM, "template", "obs", ROOT / "charts/platform-observability", "--namespace", "observability",
                          "--set", "alerts.driftWebhook.secretName=drift-webhook"],
                         check=True, capture_output=True, text=True).stdout
    return [o for o in yaml.safe_load_all(out) if o]


@pytest.fixture(scope="module")
def rules_file(rendered, tmp_path_factory):
    rule = next(o for o in rendered if o["kind"] == "PrometheusRule")
    path = tmp_path_factory.mktemp("rules") / "platform.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    return path


def promtool(*args, cwd=None):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, check=False, cwd=cwd)


def test_alert_rules_parse(rules_file):
    result = promtool("check", "rules", rules_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


def test_model_drift_alert_fires_per_drifting_model_only(rules_file):
    tests = {
        "rule_files": [rules_file.name],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": 'model_drifted_total{namespace="seldon-mesh", model="fraud"}', "values": "0 0 1 2 3 3 3 3 3 3"},
                {"series": 'model_drifted_total{namespace="seldon-mesh", model="churn"}', "values": "5x10"},
            ],
            "alert_rule_test": [
                {"eval_time": "5m", "alertname": "ModelDrifted", "exp_alerts": [{
                    "exp_labels": {"namespace": "seldon-mesh", "model": "fraud", "severity": "warning",
                                   "mlops_platform_route": "model-drift"},
                    "exp_annotations": {"summary": "Model fraud in seldon-mesh drifted",
                                        "description": "3 drift detections in the last 15m."}}]},
                {"eval_time": "1m", "alertname": "ModelDrifted", "exp_alerts": []},
            ],
        }, {
            "interval": "1m",
            "input_series": [
                {"series": 'certmanager_certificate_expiration_timestamp_seconds{namespace="mlflow", name="mlflow"}',
                 "values": f"{5 * 86400}x30"},
                {"series": 'certmanager_certificate_expiration_timestamp_seconds{namespace="mlflow", name="fresh"}',
                 "values": f"{90 * 86400}x30"},
            ],
            "alert_rule_test": [{"eval_time": "15m", "alertname": "CertificateExpiresSoon", "exp_alerts": [{
                "exp_labels": {"namespace": "mlflow", "name": "mlflow", "severity": "warning"},
                "exp_annotations": {"summary": "Certificate mlflow/mlflow expires within 14 days"}}]}],
        }, {
            # What the MLflow pod serves (its metrics sidecar's handshake), whatever its Certificate says.
            "interval": "1m",
            "input_series": [
                {"series": 'mlflow_tls_served_certificate_expiry_timestamp_seconds{namespace="mlflow", pod="mlflow-stale"}',
                 "values": f"{3 * 86400}x30"},
                {"series": 'mlflow_tls_served_certificate_expiry_timestamp_seconds{namespace="mlflow", pod="mlflow-fresh"}',
                 "values": f"{60 * 86400}x30"},
            ],
            "alert_rule_test": [{"eval_time": "15m", "alertname": "ServedCertificateExpiresSoon", "exp_alerts": [{
                "exp_labels": {"namespace": "mlflow", "pod": "mlflow-stale", "severity": "warning"},
                "exp_annotations": {"summary": "mlflow/mlflow-stale serves a certificate that expires within 14 days "
                                               "(it did not load its renewal)"}}]}],
        }],
    }
    test_file = rules_file.parent / "platform.test.yaml"
    test_file.write_text(yaml.safe_dump(tests))
    result = promtool("test", "rules", test_file.name, cwd=rules_file.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_drift_alerts_route_to_the_webhook_secret(rendered):
    config = next(o for o in rendered if o["kind"] == "AlertmanagerConfig")["spec"]
    assert config["route"]["matchers"] == [{"name": "mlops_platform_route", "value": "model-drift", "matchType": "="}]
    assert config["receivers"][0]["webhookConfigs"][0]["urlSecret"] == {"name": "drift-webhook", "key": "url"}


def test_dashboards_are_valid_grafana_json_with_parseable_queries(rendered, tmp_path):
    datasources = next(o for o in rendered if o["metadata"]["name"].endswith("-datasources"))
    known_uids = {d["uid"] for f in datasources["data"].values() for d in yaml.safe_load(f)["datasources"]}
    boards = [json.loads(text) for o in rendered if o["metadata"]["name"].count("-dashboard-") for text in o["data"].values()]
    assert sorted(b["uid"] for b in boards) == ["mlops-mlflow", "mlops-platform-overview", "mlops-seldon", "mlops-spark",
                                               "mlops-volcano"]
    exprs = []
    for board in boards:
        assert board["panels"] and len({p["id"] for p in board["panels"]}) == len(board["panels"])
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] in known_uids
            exprs += [t["expr"] for t in panel["targets"]]
    # promtool parses PromQL inside rule files: every dashboard query becomes a recording rule.
    rules = {"groups": [{"name": "dashboards", "rules": [{"record": f"dashboard:query{i}", "expr": e}
                                                          for i, e in enumerate(exprs)]}]}
    path = tmp_path / "dashboards.rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    result = promtool("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout
