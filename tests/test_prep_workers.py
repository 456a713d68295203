from types import SimpleNamespace

import pytest

from audiorole.errors import ConfigError
from audiorole.prep import workers as w


@pytest.fixture
def machine(monkeypatch):
    """A CPU-only machine with the given cores and free memory."""
    def make(cores, free_gib):
        monkeypatch.setattr(w, "_gpu_visible", lambda: False)
        monkeypatch.setattr(w, "usable_cpus", lambda: cores)
        monkeypatch.setattr(w.psutil, "virtual_memory", lambda: SimpleNamespace(available=int(free_gib * 2**30)))
    return make


def test_auto_uses_every_core_but_never_more_processes_than_episodes(machine):
    machine(cores=2, free_gib=20)
    assert w.resolve_workers("auto", episodes=3) == 2
    machine(cores=16, free_gib=200)
    assert w.resolve_workers("auto", episodes=3) == 3
    assert w.resolve_workers("auto", episodes=0) == 1


def test_auto_is_bounded_by_free_memory(machine):
    machine(cores=16, free_gib=9)
    assert w.resolve_workers("auto", episodes=40) == 2
    machine(cores=16, free_gib=1)
    assert w.resolve_workers("auto", episodes=40) == 1


def test_auto_is_one_process_where_a_gpu_is_visible(machine, monkeypatch):
    machine(cores=16, free_gib=200)
    monkeypatch.setattr(w, "_gpu_visible", lambda: True)
    assert w.resolve_workers("auto", episodes=40) == 1


def test_a_number_is_taken_as_given_and_nonsense_is_a_one_line_error():
    assert w.resolve_workers(3, episodes=1) == 3
    assert w.resolve_workers("2", episodes=1) == 2
    assert w.resolve_workers(None, episodes=5) == 1
    for bad in ("many", 0, -1):
        with pytest.raises(ConfigError, match="data.workers"):
            w.resolve_workers(bad, episodes=5)
