"""The forked worker that intake, validation and the report share."""

import os

import pytest

from ictaudit.common import forked


def _twice_the_state(x: int) -> int:
    return forked.inherited() * x


def _state_and_pid() -> tuple:
    return forked.inherited(), os.getpid()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_the_worker_sees_the_state_it_was_forked_with_and_runs_elsewhere():
    with forked.forked_worker(21) as pool:
        assert pool.submit(_twice_the_state, 2).result() == 42
        state, pid = pool.submit(_state_and_pid).result()
    assert state == 21 and pid != os.getpid()
    assert forked.inherited() is None  # dropped on leaving


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_worker_opened_inside_another_restores_the_outer_state():
    with forked.forked_worker("outer"):
        with forked.forked_worker("inner") as pool:
            assert pool.submit(_state_and_pid).result()[0] == "inner"
        assert forked.inherited() == "outer"


def test_one_core_means_no_worker(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert not forked.can_fork()
    monkeypatch.setattr("os.cpu_count", lambda: None)
    assert not forked.can_fork()
