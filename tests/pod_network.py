"""A pod network for local pods whose software binds every interface (torch's c10d store listens on `*`).

The pods' processes run in a network namespace of their own that has only loopback, so whatever they bind nothing
outside this machine can reach, and no packet leaves it. Its /etc/hosts holds the cluster DNS names of the pods and
Services (`ip netns exec` mounts /etc/netns/NAME/hosts there), so libc resolves them for C and C++ code as well as
for Python. Each pod has its own hostname (a UTS namespace), as the kubelet gives it. A Service whose server runs
outside (on this machine's loopback) is reached through two socat relays joined by a Unix socket. Needs root.
"""

import secrets
import shutil
import subprocess
from pathlib import Path


class PodNetwork:
    def __init__(self, hosts, work):
        """hosts: {address: [names]} (127.0.0.x each); work: a folder for the relays' sockets."""
        self.name = f"mlops-test-{secrets.token_hex(4)}"
        self.etc, self.work, self.relays = Path("/etc/netns") / self.name, Path(work), []
        self.hosts = "".join(f"{address} {' '.join(names)}\n" for address, names in {"127.0.0.1": ["localhost"],
                                                                                     **hosts}.items())

    def __enter__(self):
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        self.etc.mkdir(parents=True)
        (self.etc / "hosts").write_text(self.hosts)
        subprocess.run(["ip", "netns", "exec", self.name, "ip", "link", "set", "lo", "up"], check=True)
        return self

    def __exit__(self, *_):
        for relay in self.relays:
            relay.kill()
            relay.wait()
        subprocess.run(["ip", "netns", "delete", self.name], check=False)
        shutil.rmtree(self.etc, ignore_errors=True)

    def inside(self, argv, hostname="localhost"):
        """argv run in the network, as a pod with that hostname."""
        return ["ip", "netns", "exec", self.name, "unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"',
                hostname, *map(str, argv)]

    def relay(self, address, port, outside_port):
        """address:port in the network forwards to 127.0.0.1:outside_port on this machine."""
        socket = self.work / f"relay-{address}-{port}.sock"
        self.relays.append(subprocess.Popen(["socat", f"UNIX-LISTEN:{socket},fork",
                                             f"TCP:127.0.0.1:{outside_port}"]))
        self.relays.append(subprocess.Popen(self.inside(["socat", f"TCP-LISTEN:{port},bind={address},fork,reuseaddr",
                                                         f"UNIX-CONNECT:{socket}"])))
