"""Register models the way a training job does: log a (tiny) pyfunc model per version, register it, set aliases.

Run with the MLflow venv: python mlflow_register.py <tracking-uri> '<json {"versions": {name: n}, "aliases": {...}}>'
Prints {name: [download URI of version 1, 2, ...]}. Credentials and CA come from MLFLOW_TRACKING_* variables.
"""

import json
import sys

import mlflow
from mlflow import MlflowClient


class Echo(mlflow.pyfunc.PythonModel):
    """Returns its input."""

    def predict(self, context, model_input, params=None):
        return model_input


def main(uri, spec):
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("release-test")
    client = MlflowClient()
    out = {}
    for name, count in spec["versions"].items():
        for _ in range(count):
            with mlflow.start_run():
                info = mlflow.pyfunc.log_model(name="model", python_model=Echo(), pip_requirements=["mlflow"])
            version = mlflow.register_model(info.model_uri, name).version
            out.setdefault(name, []).append(client.get_model_version_download_uri(name, version))
    for name, aliases in spec.get("aliases", {}).items():
        for alias, version in aliases.items():
            client.set_registered_model_alias(name, alias, str(version))
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
