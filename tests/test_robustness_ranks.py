"""Ranks of large groups (one sort per draw) equal the all-pairs count of small ones."""

import numpy as np

from ictaudit.score import robustness


def test_sorted_ranks_equal_pairwise_ranks(monkeypatch):
    rng = np.random.default_rng(7)
    scores = np.round(rng.uniform(0, 100, (50, 300)), 0)  # many ties
    scores[rng.random(scores.shape) < 0.05] = np.nan  # unscored: rank 0, pushes nobody down
    scores[3] = np.nan  # a draw where nobody is scored
    monkeypatch.setattr(robustness, "_PAIRWISE_MAX", 10**9)
    pairwise = robustness.competition_ranks(scores)
    monkeypatch.setattr(robustness, "_PAIRWISE_MAX", 0)
    assert (robustness.competition_ranks(scores) == pairwise).all()
    assert (pairwise[3] == 0).all()
