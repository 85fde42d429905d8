"""The value formats of mlops.platform.check_settings (plugins/module_utils/formats.py): a good and a bad value each."""

import sys

import pytest

from paths import ROOT

sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
from formats import FORMATS, check_format, paths  # noqa: E402  pylint: disable=wrong-import-position

GOOD_AND_BAD = {
    "dns_label": ("mlflow", "Bad_Label"), "dns_name": ("mlflow.mlflow.svc", "bad..name"),
    "helm_release": ("models", "r" * 60), "quantity": ("10Gi", "10 GB"), "duration": ("1h30m", "ten minutes"),
    "url": ("https://mlflow.mlflow.svc:443/x", "mlflow.mlflow.svc"), "https_url": ("https://a.example", "http://a.example"),
    "cidr": ("10.0.0.1/32", "10.0.0.1"), "ip": ("169.254.20.10", "169.254.20"), "registry": ("registry.local:5000/team", "Reg istry"),
    "image": ({"repository": "registry.local/mlflow", "tag": "3.17.2"}, {"repository": "registry.local/mlflow"}),
    "port": (5432, 70000), "count": (0, -1), "positive": ("110", 0), "text": ("MLOps platform", "two\nlines"),
    "image_reference": ("kindest/node:v1.34.0", "Bad Image"), "version": ("v1.34.2+k3s1", "1.34"),
    "sha256": ("sha256:" + "a" * 64, "abc"), "host_port": ("collector.observability.svc:4317", "collector"),
    "endpoint": ("10.0.0.1:6443", "bad host"), "absolute_path": ("/shared", "shared"),
    "prometheus_duration": ("15d", "15 days"), "storage_uri": ("s3://mlflow", "mlflow"), "jvm_memory": ("1g", "1 GB"),
}


def test_every_format_has_a_case():
    assert {k for k in FORMATS if not k.endswith("_or_empty")} == set(GOOD_AND_BAD)


@pytest.mark.parametrize("kind", sorted(GOOD_AND_BAD))
def test_good_passes_bad_fails_and_empty_only_where_allowed(kind):
    good, bad = GOOD_AND_BAD[kind]
    assert check_format(kind, good) is None
    assert check_format(kind, bad) and check_format(f"{kind}_or_empty", bad)
    assert check_format(f"{kind}_or_empty", "") is None
    assert check_format(kind, "") is not None


def test_paths_name_every_value_they_reach():
    values = {"queues": [{"name": "a"}, {"name": "b"}], "image": {"tag": "1"}, "users": ["x"]}
    assert paths(values, "queues[].name") == [("queues[0].name", "a"), ("queues[1].name", "b")]
    assert paths(values, "image.tag") == [("image.tag", "1")]
    assert paths(values, "users[]") == [("users[0]", "x")]
    assert paths(values, "image.missing") == [] and paths(values, "users[].name") == []


@pytest.mark.parametrize("text", ["10Gi", "500m", "2", "1.5", ".5", "1e3", "64Mi", "100k", "1E", "+3", "0",
                                  "10 GB", "1.2.3", "Gi", "-1", "10gi", "1e", "", "1Ki5"])
def test_quantity_agrees_with_the_kubernetes_package(text):
    """The grammar check against kubernetes.utils.parse_quantity (negative quantities are not sizes: refused)."""
    from kubernetes.utils import parse_quantity  # pylint: disable=import-outside-toplevel
    try:
        parsed = parse_quantity(text) >= 0
    except ValueError:
        parsed = False
    assert (check_format("quantity", text) is None) == parsed, text
