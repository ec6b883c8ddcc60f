"""Where the project's own data lives (rubrics, expectation suites, notebooks)."""

from __future__ import annotations

import os
from pathlib import Path

# lib/ictaudit/common/paths.py -> the checkout root; ICTAUDIT_HOME overrides it for an installed copy.
PROJECT_ROOT = Path(os.environ.get("ICTAUDIT_HOME", Path(__file__).resolve().parents[3]))
RUBRICS_DIR = PROJECT_ROOT / "rubrics"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DATA_DIR = PROJECT_ROOT / "data"
