"""Rendered pods run as local processes: each container's command, args, environment and mounted files are taken
from the manifest; each "pod" gets an address of its own on loopback (127.0.0.x) and the cluster DNS names of the
rendered Services resolve to the addresses of the pods they select.

What changes, and why: paths (a mount's path maps to a local directory with the same content, the image's install
root to the local install; in arguments, environment and the mounted configuration files alike), `0.0.0.0` (every interface of a pod is its own address: here the pod's 127.0.0.x, so
nothing listens beyond loopback) and Secret values (the test's own).
"""

import re
import subprocess
from pathlib import Path

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def by_kind(objects, kind, name):
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def pod_templates(objects):
    """{workload name: pod template} of every rendered workload."""
    return {o["metadata"]["name"]: o["spec"]["template"] for o in objects if o["kind"] in WORKLOAD_KINDS}


def service_hosts(objects, addresses, namespace):
    """hosts-file lines: each Service's cluster DNS names -> the address of the pod its selector picks.
    addresses: {workload name: address}; namespace: the release's (objects rendered without one land there)."""
    templates = pod_templates(objects)
    lines = []
    for svc in (o for o in objects if o["kind"] == "Service"):
        selector = svc["spec"].get("selector") or {}
        picked = [name for name, t in templates.items() if name in addresses
                  and selector and selector.items() <= t["metadata"].get("labels", {}).items()]
        if len(picked) == 1:
            name, namespace = svc["metadata"]["name"], svc["metadata"].get("namespace", namespace)
            lines.append(f"{addresses[picked[0]]} {name}.{namespace}.svc {name}.{namespace}.svc.cluster.local")
    return lines


class LocalPod:
    """One rendered pod: its volumes as local directories, its containers' processes."""

    def __init__(self, template, address, objects, work, claims, roots, *, hosts=None):  # pylint: disable=too-many-arguments
        """claims: {claim name: local directory} (shared between pods); roots: {image path: local path}; hosts: a
        hosts file that makes the pod's processes run with files of their own (isolated)."""
        self.spec, self.address, self.work, self.hosts = template["spec"], address, Path(work), hosts
        self.work.mkdir(parents=True, exist_ok=True)
        self.volumes, self.roots, config_maps = {}, roots, {}
        for volume in self.spec.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                self.volumes[volume["name"]] = Path(claims[volume["persistentVolumeClaim"]["claimName"]])
                continue
            self.volumes[volume["name"]] = self.work / "volumes" / volume["name"]
            self.volumes[volume["name"]].mkdir(parents=True, exist_ok=True)
            if "configMap" in volume:
                config_maps[volume["name"]] = by_kind(objects, "ConfigMap", volume["configMap"]["name"])["data"]
        for name, data in config_maps.items():
            for key, text in data.items():
                (self.volumes[name] / key).write_text(self.local_paths(text, self.container()))

    def container(self, name=None):
        containers = self.spec["containers"]
        return containers[0] if name is None else next(c for c in containers if c["name"] == name)

    def paths(self, container):
        """{path in the container: local path}, longest first: mounts, then the image's install roots."""
        mapped = {}
        for mount in container.get("volumeMounts", []):
            local = self.volumes[mount["name"]]
            mapped[mount["mountPath"]] = str(local / mount["subPath"] if mount.get("subPath") else local)
        mapped.update(self.roots)
        return dict(sorted(mapped.items(), key=lambda item: -len(item[0])))

    def local_paths(self, text, container):
        """text with every container path that stands alone in it (a configuration file's value) made local."""
        for inside, outside in self.paths(container).items():
            text = re.sub(rf"(?<![\w/.-]){re.escape(inside)}(?=[/\s\"',:]|$)", lambda _, local=outside: local, text,
                          flags=re.MULTILINE)
        return text

    def local(self, text, container):
        for inside, outside in self.paths(container).items():
            if text == inside or text.startswith(inside + "/"):
                return outside + text[len(inside):]
        return text.replace("0.0.0.0", self.address)

    def argv(self, container):
        return [self.local(part, container) for part in container.get("command", []) + container.get("args", [])]

    def env(self, container, secrets, drop=()):
        """The environment as the kubelet builds it: literal values ($(VAR) expanded), Secret keys, the pod's IP."""
        env = {}
        for item in container.get("env", []):
            if item["name"] in drop:
                continue
            if "value" in item:
                value = item["value"]
                for name, known in env.items():
                    value = value.replace(f"$({name})", known)
                env[item["name"]] = self.local(value, container)
            elif "secretKeyRef" in item["valueFrom"]:
                ref = item["valueFrom"]["secretKeyRef"]
                env[item["name"]] = secrets[ref["name"]][ref["key"]]
            else:
                assert item["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP", item
                env[item["name"]] = self.address
        return env

    def isolated(self, argv):
        """argv in a mount namespace of its own (needs root), as in a container: its own empty /tmp, and the hosts
        file as /etc/hosts. What one pod leaves in /tmp another does not see (the work folder must not be in /tmp)."""
        tmp = self.work / "tmp"
        tmp.mkdir(exist_ok=True)
        script = 'mount --bind "$0" /tmp && mount --bind "$1" /etc/hosts && shift && exec "$@"'
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, str(tmp), str(self.hosts),
                *argv]

    def start(self, container, base_env, secrets, log, drop=()):  # pylint: disable=too-many-arguments
        """The container's process, its output in log; isolated when the pod has a hosts file."""
        env = {**base_env, **self.env(container, secrets, drop)}
        argv = self.argv(container) if self.hosts is None else self.isolated(self.argv(container))
        with open(log, "w", encoding="utf-8") as out:
            return subprocess.Popen(argv, env=env, cwd=self.work, stdout=out, stderr=subprocess.STDOUT)
