"""Where the tests find the repository and the tools scripts/test builds (XDG cache, as the scripts use it)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mlops-platform"
HELM = CACHE / "sim/bin/helm"
