"""Sidecar: serves the MLflow server's Prometheus metrics (the multiprocess files its workers write to METRICS_DIR)
over TLS on a port of its own. Prometheus then needs no MLflow credential (MLflow's basic-auth app admits only its
admin to /metrics); the NetworkPolicy admits only Prometheus's namespace to this port. Adds the expiry of the
certificate the server serves right now (not the Secret's: a server that missed a renewal still serves the old one)."""

import os
import signal
import socket
import ssl

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector


class ServedCertificate:  # pylint: disable=too-few-public-methods
    """mlflow_tls_served_certificate_expiry_timestamp_seconds, read by a TLS handshake with the server at each
    scrape; no sample while the server does not answer (PlatformTargetDown covers the sidecar, the server's
    readiness probe the server)."""

    def __init__(self, port, ca_file):
        self.port = port
        self.context = ssl.create_default_context(cafile=ca_file)
        self.context.check_hostname = False  # by address; the chain is still verified against the platform CA

    def collect(self):
        family = GaugeMetricFamily("mlflow_tls_served_certificate_expiry_timestamp_seconds",
                                   "notAfter of the certificate the MLflow server serves, in Unix seconds")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                with self.context.wrap_socket(sock) as tls:
                    family.add_metric([], ssl.cert_time_to_seconds(tls.getpeercert()["notAfter"]))
        except (OSError, ssl.SSLError):
            pass
        yield family


def read(path):
    with open(path, "rb") as file:
        return file.read()


def main():
    os.makedirs(os.environ["METRICS_DIR"], exist_ok=True)  # the server creates it too; whichever starts first
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=os.environ["METRICS_DIR"])
    registry.register(ServedCertificate(int(os.environ["SERVER_PORT"]), os.environ["CA_FILE"]))
    cert, key = f"{os.environ['TLS_DIR']}/tls.crt", f"{os.environ['TLS_DIR']}/tls.key"
    stop = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # the server's thread inherits the mask: signals come here
    # HOST: every interface in the pod; the smoke test binds loopback only.
    server, _ = start_http_server(int(os.environ["METRICS_PORT"]), addr=os.environ.get("HOST", "0.0.0.0"),
                                  registry=registry, certfile=cert, keyfile=key)
    serving = read(cert)
    while not signal.sigtimedwait(stop, float(os.environ.get("TLS_CHECK_SECONDS", "60"))):
        if read(cert) != serving:  # renewed: new handshakes get the new certificate
            serving = read(cert)
            server.socket.context.load_cert_chain(cert, key)


if __name__ == "__main__":
    main()
