"""Filters for playbooks/release.yml: check a release file, and turn it into charts/model-serving values."""

import re

DOCUMENTATION = r"""
name: model_release_errors
short_description: Every problem of a model release file, as messages
description:
  - Checks models (name, uri, server, replicas), pipelines (steps naming released models) and experiments
    (candidates naming released models, weights adding up to 100). An empty list means the file is valid.
positional: _input
options:
  _input:
    description: The release file, parsed.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the release file
  ansible.builtin.assert:
    that: release | mlops.platform.model_release_errors | length == 0
"""

RETURN = r"""
_value:
  description: Messages, one per problem.
  type: list
  elements: str
"""

NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
REFERENCE = re.compile(r"^models:/[^/@]+(@[^/@]+|/[0-9]+)$")
SECTIONS = ("models", "pipelines", "experiments")


def _items(release, section, errors):
    items = release.get(section) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        errors.append(f"{section} must be a list of mappings")
        return []
    return items


def _check_names(items, section, errors):
    names = [item.get("name") for item in items]
    for name in names:
        if not isinstance(name, str) or not NAME.match(name):
            errors.append(f"{section}: name {name!r} is not a DNS label")
    for name in sorted({n for n in names if isinstance(n, str) and names.count(n) > 1}):
        errors.append(f"{section}: {name} is declared twice")


def _check_models(models, errors):
    for model in models:
        name = model.get("name")
        if not isinstance(model.get("uri"), str) or not REFERENCE.match(model["uri"]):
            errors.append(f"model {name}: uri {model.get('uri')!r} must be models:/<name>@<alias> or models:/<name>/<version>")
        if not isinstance(model.get("server"), str) or not model["server"]:
            errors.append(f"model {name}: server is missing")
        replicas = model.get("replicas", 1)
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            errors.append(f"model {name}: replicas must be a whole number >= 0")


def _check_pipelines(pipelines, known, errors):
    for pipeline in pipelines:
        steps = pipeline.get("steps")
        if not isinstance(steps, list) or not steps:
            errors.append(f"pipeline {pipeline.get('name')}: steps must be a non-empty list of model names")
            continue
        for step in steps:
            if step not in known:
                errors.append(f"pipeline {pipeline.get('name')}: unknown model {step!r} (not in models)")


def _check_experiments(experiments, known, errors):
    for experiment in experiments:
        name = experiment.get("name")
        candidates = experiment.get("candidates")
        if not isinstance(candidates, list) or len(candidates) < 2:
            errors.append(f"experiment {name}: candidates must list at least two models")
            continue
        weights = [c.get("weight") if isinstance(c, dict) else None for c in candidates]
        if not all(isinstance(w, int) and not isinstance(w, bool) and w >= 0 for w in weights):
            errors.append(f"experiment {name}: every candidate needs a whole-number weight")
        elif sum(weights) != 100:
            errors.append(f"experiment {name}: weights add up to {sum(weights)}, not 100")
        for model in [c.get("model") for c in candidates if isinstance(c, dict)] + (
                [experiment["default"]] if "default" in experiment else []):
            if model not in known:
                errors.append(f"experiment {name}: unknown model {model!r} (not in models)")


def model_release_errors(release):
    """Every problem of a release file; [] when it is valid."""
    if not isinstance(release, dict):
        return ["the release file must be a mapping with models, pipelines and experiments"]
    errors = [f"unknown section {key!r} (known: {', '.join(SECTIONS)})" for key in release if key not in SECTIONS]
    models, pipelines, experiments = (_items(release, s, errors) for s in SECTIONS)
    if not models:
        errors.append("models: the release serves no model")
    _check_names(models, "models", errors)
    _check_names(pipelines + experiments, "pipelines and experiments", errors)
    _check_models(models, errors)
    known = {m.get("name") for m in models}
    _check_pipelines(pipelines, known, errors)
    _check_experiments(experiments, known, errors)
    return errors


def model_release_values(release, resolved, code_version, storage_secret):
    """charts/model-serving values; resolved: the mlflow_model_version results, in the order of release.models."""
    by_ref = {r["ref"]: r for r in resolved}
    models, tag_parts = [], []
    for model in release["models"]:
        found = by_ref[model["uri"]]
        models.append({"name": model["name"], "storageUri": found["storage_uri"], "server": model["server"],
                       "replicas": model.get("replicas", 1), "requirements": model.get("requirements", ["mlflow"]),
                       "registry": {"ref": model["uri"], "name": found["name"], "version": found["version"]}})
        part = f"{found['name']}v{found['version']}"
        if part not in tag_parts:
            tag_parts.append(part)
    return {
        "release": {"tag": "-".join([str(code_version)] + tag_parts), "codeVersion": str(code_version)},
        "storageSecret": storage_secret,
        "models": models,
        "pipelines": [{"name": p["name"], "steps": p["steps"]} for p in release.get("pipelines") or []],
        "experiments": [
            {"name": e["name"], **({"default": e["default"]} if "default" in e else {}),
             "candidates": [{"name": c["model"], "weight": c["weight"]} for c in e["candidates"]]}
            for e in release.get("experiments") or []],
    }


class FilterModule:
    """Model release filters."""

    def filters(self):
        return {"model_release_errors": model_release_errors, "model_release_values": model_release_values}
