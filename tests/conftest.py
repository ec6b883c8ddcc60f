"""Shared test set-up: no network, no GX analytics, and paths to the shared reference data."""

import os
from pathlib import Path

import pytest

os.environ["GX_ANALYTICS_ENABLED"] = "false"

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def rubric():
    from ictaudit.rules.rubric import load_rubric

    return load_rubric("caobang-2310-2016")
