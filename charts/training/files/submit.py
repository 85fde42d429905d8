"""Submits a TorchX component to Volcano as `torchx run --scheduler kubernetes` does, adding to every pod what TorchX
0.7 cannot express: the MLflow credential (Secret references, never values), the platform CA and these scripts
(ConfigMap volumes), from pods.json beside this file. Settings come from .torchxconfig in the working directory.

python /opt/training/submit.py dist.ddp -j 2x1 --script train_ddp.py
"""

import json
import sys
from pathlib import Path

from kubernetes.client import ApiClient
from torchx.runner import get_runner
from torchx.runner.config import apply, load_sections

SCHEDULER = "kubernetes"


def with_additions(pod, additions):
    """The pod (a V1Pod) as a dict, with the additions' env, volumes, mounts and working directory."""
    pod = ApiClient().sanitize_for_serialization(pod)
    spec = pod["spec"]
    spec["volumes"] = spec.get("volumes", []) + additions["volumes"]
    for container in spec["containers"]:
        container["env"] = container.get("env", []) + additions["env"]
        container["volumeMounts"] = container.get("volumeMounts", []) + additions["volumeMounts"]
        container.setdefault("workingDir", additions["workingDir"])
    return pod


def main(component, *component_args):
    additions = json.loads((Path(__file__).parent / "pods.json").read_text())
    cfg = {}
    apply(scheduler=SCHEDULER, cfg=cfg)
    with get_runner(component_defaults=load_sections(prefix="component")) as runner:
        # No workspace: the scripts reach the pods as a ConfigMap, not in an image built here.
        info = runner.dryrun_component(component, list(component_args), SCHEDULER, cfg=cfg, workspace=None)
        for task in info.request.resource["spec"]["tasks"]:
            task["template"] = with_additions(task["template"], additions)
        print(runner.schedule(info))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(*sys.argv[1:])
