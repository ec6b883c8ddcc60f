"""Shared test set-up: no GX analytics, the shipped rubric, and where the published reference figures lie."""

import os
from pathlib import Path

import pytest

os.environ["GX_ANALYTICS_ENABLED"] = "false"

ROOT = Path(__file__).resolve().parents[1]
#: published figures the tests check the project against (README.md there says where each comes from)
REFERENCE_DIR = ROOT / "tests" / "fixtures" / "reference"


@pytest.fixture(scope="session")
def rubric():
    from ictaudit.rules.rubric import load_rubric

    return load_rubric("caobang-2310-2016")
