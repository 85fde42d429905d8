"""Sidecar: serves the MLflow server's Prometheus metrics (the multiprocess files its workers write to METRICS_DIR)
over TLS on a port of its own. Prometheus then needs no MLflow credential (MLflow's basic-auth app admits only its
admin to /metrics); the NetworkPolicy admits only Prometheus's namespace to this port."""

import os
import signal

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector


def main():
    os.makedirs(os.environ["METRICS_DIR"], exist_ok=True)  # the server creates it too; whichever starts first
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=os.environ["METRICS_DIR"])
    tls = os.environ["TLS_DIR"]
    # HOST: every interface in the pod; the smoke test binds loopback only.
    start_http_server(int(os.environ["METRICS_PORT"]), addr=os.environ.get("HOST", "0.0.0.0"), registry=registry,
                      certfile=f"{tls}/tls.crt", keyfile=f"{tls}/tls.key")
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


if __name__ == "__main__":
    main()
