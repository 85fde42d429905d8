"""mlflow_model_version: resolve MLflow model registry references through the tracking server's REST API."""

import json
from urllib.parse import quote, urlparse

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import open_url
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: mlflow_model_version
short_description: Resolve MLflow registry references to a concrete version and storage URI
description:
  - Each term is a registry reference, C(models:/<name>@<alias>) or C(models:/<name>/<version>).
  - Asks the MLflow tracking server (REST API 2.0, the same calls the C(mlflow) client makes) for the model version
    and where its files are. C(mlflow-artifacts:/) locations (a server proxying artifacts) are mapped under
    O(artifacts_destination), so a model server can download them directly.
  - Only versions whose status is C(READY) resolve.
options:
  _terms:
    description: Registry references.
    required: true
    type: list
    elements: str
  tracking_uri:
    description: Base URL of the MLflow tracking server.
    required: true
    type: str
  username:
    description: Basic-auth user (MLflow's basic-auth app); empty for none.
    type: str
    default: ""
  password:
    description: Basic-auth password.
    type: str
    default: ""
  ca_path:
    description: CA bundle to verify the server's certificate with (e.g. the platform CA); empty for the system's.
    type: str
    default: ""
  artifacts_destination:
    description: The server's C(--artifacts-destination), e.g. C(s3://mlflow); required for C(mlflow-artifacts:/) URIs.
    type: str
    default: ""
  on_unresolved:
    description: C(fail) raises on the first reference that does not resolve; C(report) returns it with an C(error).
    type: str
    default: fail
    choices: [fail, report]
  timeout:
    description: Seconds per request.
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: Resolve the champion
  ansible.builtin.debug:
    msg: "{{ lookup('mlops.platform.mlflow_model_version', 'models:/iris@champion',
             tracking_uri='https://mlflow.example.internal', artifacts_destination='s3://mlflow') }}"
"""

RETURN = r"""
_raw:
  description: One dictionary per reference.
  type: list
  elements: dict
  contains:
    ref: {description: The reference as given., type: str}
    name: {description: Registered model name., type: str}
    version: {description: Concrete version number., type: str}
    alias: {description: The alias resolved, if any., type: str}
    storage_uri: {description: Where the version's files are, as a model server downloads them., type: str}
    source: {description: The version's source as registered., type: str}
    run_id: {description: Run that produced it, if any., type: str}
    error: {description: Why the reference did not resolve (on_unresolved=report only)., type: str}
"""


class ResolveError(Exception):
    """A reference that does not resolve, with a message fit for the user."""


def parse_reference(ref):
    """models:/<name>@<alias> or models:/<name>/<version> -> (name, alias, version)."""
    if not isinstance(ref, str) or not ref.startswith("models:/"):
        raise ResolveError(f"{ref!r} is not a registry reference (models:/<name>@<alias> or models:/<name>/<version>)")
    body = ref[len("models:/"):]
    if "@" in body:
        name, alias = body.rsplit("@", 1)
        if name and alias and "/" not in name:
            return name, alias, None
    elif body.count("/") == 1:
        name, version = body.split("/")
        if name and version.isdigit():
            return name, None, version
    raise ResolveError(f"{ref!r} is not a registry reference (models:/<name>@<alias> or models:/<name>/<version>)")


def storage_uri(location, artifacts_destination):
    """Map a proxied mlflow-artifacts:/ location to the object store behind the server."""
    if not location.startswith("mlflow-artifacts:"):
        return location
    if not artifacts_destination:
        raise ResolveError(f"{location} is proxied by the server: set the server's artifacts destination (s3://...)")
    path = urlparse(location).path.lstrip("/")
    return f"{artifacts_destination.rstrip('/')}/{path}"


class LookupModule(LookupBase):
    """Resolve registry references to {name, version, storage_uri, ...}."""

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        results = []
        for ref in terms:
            try:
                results.append(self._resolve(ref))
            except ResolveError as err:
                if self.get_option("on_unresolved") == "fail":
                    raise AnsibleLookupError(str(err)) from None
                results.append({"ref": ref, "error": str(err)})
        return results

    def _get(self, path, **params):
        url = self.get_option("tracking_uri").rstrip("/") + path + "?" + "&".join(
            f"{key}={quote(str(value), safe='')}" for key, value in params.items())
        user = self.get_option("username")
        try:
            response = open_url(url, method="GET", url_username=user or None, url_password=self.get_option("password") or None,
                                force_basic_auth=bool(user), ca_path=self.get_option("ca_path") or None,
                                timeout=self.get_option("timeout"), validate_certs=True)
            return json.loads(response.read())
        except Exception as err:  # pylint: disable=broad-except  # HTTPError, URLError, SSL errors: all reported alike
            body = to_text(err.read()) if hasattr(err, "read") else ""
            try:
                detail = json.loads(body).get("message", body)
            except ValueError:
                detail = body or to_text(err)
            code = getattr(err, "code", None)
            raise ResolveError(f"MLflow {path} ({code or 'no answer'}): {detail}") from None

    def _resolve(self, ref):
        name, alias, version = parse_reference(ref)
        try:
            if alias:
                found = self._get("/api/2.0/mlflow/registered-models/alias", name=name, alias=alias)["model_version"]
            else:
                found = self._get("/api/2.0/mlflow/model-versions/get", name=name, version=version)["model_version"]
        except ResolveError as err:
            raise ResolveError(f"{ref} does not resolve: {err}") from None
        if found.get("status", "READY") != "READY":
            raise ResolveError(f"{ref} is version {found['version']}, whose status is {found['status']}, not READY")
        location = self._get("/api/2.0/mlflow/model-versions/get-download-uri", name=name,
                             version=found["version"])["artifact_uri"]
        return {"ref": ref, "name": name, "version": str(found["version"]), "alias": alias or "",
                "storage_uri": storage_uri(location, self.get_option("artifacts_destination")),
                "source": found.get("source", ""), "run_id": found.get("run_id", "")}
