"""Static checks of every role: argument specs name exactly the defaults; the standard files exist."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if p.is_dir())


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_argument_specs_match_defaults(role):
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    assert set(specs["main"]["options"]) == set(defaults), "meta/argument_specs.yml and defaults/main.yml differ"
    for name, spec in specs["main"]["options"].items():
        assert spec.get("description"), f"{name} has no description"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_private_variables_are_prefixed(role):
    prefix = role.name.lstrip("_")
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    wrong = [k for k in defaults if not k.startswith((prefix + "_", "platform_"))]
    assert not wrong, f"public variables must start with {prefix}_"
    variables = role / "vars" / "main.yml"
    if variables.exists():
        wrong = [k for k in yaml.safe_load(variables.read_text()) or {} if not k.startswith(f"_{prefix}_")]
        assert not wrong, f"vars/main.yml keys must start with _{prefix}_"


def test_own_chart_pins_are_the_charts_versions():
    """The converge compares deployed chart versions with these pins: a chart changed without its pin would upgrade
    on every run (or never)."""
    pins = yaml.safe_load((ROOT / "roles/platform/vars/main.yml").read_text())["_platform_charts"]
    own = {name: pin["version"] for name, pin in pins.items() if pin.get("own")}
    charts = {p.name: yaml.safe_load((p / "Chart.yaml").read_text())["version"] for p in (ROOT / "charts").iterdir()
              if (p / "Chart.yaml").is_file()}
    assert own == charts
