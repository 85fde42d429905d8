"""Value formats Kubernetes and the platform's charts expect, for mlops.platform.check_settings."""

import ipaddress
import re
from urllib.parse import urlsplit

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")
_QUANTITY = re.compile(r"^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$")
_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
# A leading "/" is an empty platform_image_registry: the roles' registry checks say so in their own words.
_IMAGE_REPOSITORY = re.compile(r"^/?[a-z0-9]+([._:/-][a-z0-9]+)*$")
_IMAGE_REFERENCE = re.compile(r"^[a-z0-9]+([._:/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127})?(@sha256:[0-9a-f]{64})?$")
_VERSION = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$")
_SHA256 = re.compile(r"^(sha256:)?[0-9a-f]{64}$")
_HOST = r"([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*|[0-9.]+|\[[0-9a-fA-F:.]+\])"
_HOST_PORT = re.compile(rf"^{_HOST}:[0-9]{{1,5}}$")
_ENDPOINT = re.compile(rf"^{_HOST}(:[0-9]{{1,5}})?$")
_ABSOLUTE_PATH = re.compile(r"^/[^\s]*$")
_PROMETHEUS_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_JVM_MEMORY = re.compile(r"^[0-9]+[kmgtKMGT]?$")
_STORAGE_URI = re.compile(r"^[a-z0-9]+://[^\s]+$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$")
_REGISTRY = re.compile(r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_HELM_RELEASE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$")


def _quantity(value):
    # Kubernetes' own grammar (apimachinery resource.Quantity), not kubernetes.utils.parse_quantity: importing the
    # kubernetes package costs each task that checks a quantity ~0.5 s (tests/unit/test_formats.py compares both).
    return not isinstance(value, bool) and isinstance(value, (str, int, float)) and bool(_QUANTITY.match(str(value)))


def _url(value, schemes):
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme in schemes and bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:
        return False


def _network(value):
    try:
        ipaddress.ip_network(value, strict=False)
        return "/" in value
    except (TypeError, ValueError):
        return False


def _ip(value):
    try:
        ipaddress.ip_address(value)
        return True
    except (TypeError, ValueError):
        return False


def _text(value):
    return isinstance(value, str) and value.strip() != "" and "\n" not in value


def _matches(pattern):
    return lambda value: isinstance(value, str) and bool(pattern.match(value))


def _image(value):
    return (isinstance(value, dict) and _matches(_IMAGE_REPOSITORY)(value.get("repository"))
            and _matches(_IMAGE_TAG)(str(value.get("tag", ""))))


def _port(value):
    return not isinstance(value, bool) and str(value).isdigit() and 1 <= int(value) <= 65535


def _count(value):
    return not isinstance(value, bool) and str(value).isdigit()


def _positive(value):
    return _count(value) and int(value) >= 1


# name: (check, what a good value is). "<name>_or_empty" accepts "" too.
FORMATS = {
    "dns_label": (_matches(_DNS_LABEL), "a DNS label (lowercase letters, digits and '-', at most 63)"),
    "dns_name": (_matches(_DNS_NAME), "a DNS name (dot-separated DNS labels, at most 253)"),
    "helm_release": (_matches(_HELM_RELEASE), "a Helm release name (a DNS label of at most 53)"),
    "quantity": (_quantity, "a Kubernetes quantity such as 10Gi, 500m or 2"),
    "duration": (_matches(_DURATION), "a Go duration such as 10m or 1h30m"),
    "url": (lambda v: _url(v, ("http", "https")), "an http(s) URL with a host"),
    "https_url": (lambda v: _url(v, ("https",)), "an https URL with a host"),
    "cidr": (_network, "a CIDR such as 10.0.0.1/32"),
    "ip": (_ip, "an IP address"),
    "registry": (_matches(_REGISTRY), "a registry such as registry.example.com:5000/team"),
    "image": (_image, "an image {repository, tag}"),
    "port": (_port, "a port (1-65535)"),
    "count": (_count, "a whole number >= 0"),
    "positive": (_positive, "a whole number >= 1"),
    "text": (_text, "one line of text"),
    "image_reference": (_matches(_IMAGE_REFERENCE), "an image reference such as registry.example.com/app:1.0"),
    "version": (_matches(_VERSION), "a version such as v1.2.3"),
    "sha256": (_matches(_SHA256), "a SHA-256 checksum (64 hex digits)"),
    "host_port": (_matches(_HOST_PORT), "host:port"),
    "endpoint": (_matches(_ENDPOINT), "a host or IP address, with an optional :port"),
    "absolute_path": (_matches(_ABSOLUTE_PATH), "an absolute path"),
    "prometheus_duration": (_matches(_PROMETHEUS_DURATION), "a Prometheus duration such as 15d"),
    "storage_uri": (_matches(_STORAGE_URI), "a URI such as s3://bucket"),
    "jvm_memory": (_matches(_JVM_MEMORY), "a JVM memory size such as 1g or 512m"),
}
FORMATS.update({f"{name}_or_empty": ((lambda check: lambda v: v == "" or check(v))(check), f"{what} or \"\"")
                for name, (check, what) in list(FORMATS.items())})


def check_format(kind, value):
    """What a good value is if value is not of the format kind, else None."""
    check, what = FORMATS[kind]
    return None if check(value) else what


def paths(values, path):
    """(where, value) of every value a path names: name, name.key, name[] (each element), name[].key ..."""
    found = [("", values)]
    for part in re.findall(r"[^.\[\]]+|\[\]", path):
        step = []
        for where, value in found:
            if part == "[]":
                step += [(f"{where}[{i}]", v) for i, v in enumerate(value)] if isinstance(value, list) else []
            elif isinstance(value, dict) and part in value:
                step.append((f"{where}.{part}" if where else part, value[part]))
        found = step
    return found
