"""train.py / evaluate.py as a user runs them: clear one-line errors, no traceback walls."""

import subprocess
import sys

import pytest

from conftest import ROOT


def run(script: str, *overrides: str, tmp_path) -> subprocess.CompletedProcess:
    args = [sys.executable, str(ROOT / script), f"paths.log_dir={tmp_path}/logs", f"paths.data_dir={tmp_path}/data", *overrides]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=tmp_path)


def errors(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (proc.stdout + proc.stderr).splitlines() if "ERROR" in line or line.startswith("error")]


@pytest.mark.parametrize("script", [pytest.param("train.py", marks=pytest.mark.slow), "evaluate.py"])
def test_missing_series_is_one_line_naming_the_folder(tmp_path, script):
    proc = run(script, "stage=acoustic", "character=tyrion", tmp_path=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    [line] = errors(proc)
    assert f"{tmp_path}/data/series/game_of_thrones/episodes" in line
    assert "data.series_dir" in line


@pytest.mark.slow  # a train.py subprocess (~9 s on 2 cores); the fast suite keeps the evaluate.py case below
def test_missing_required_values_are_named(tmp_path):
    proc = run("train.py", "data=series", "character=custom", tmp_path=tmp_path)
    assert proc.returncode == 2
    [line] = errors(proc)
    assert "character.name" in line and "data.series_dir" in line and "data.name" in line


@pytest.mark.parametrize("override, expected", [
    pytest.param("character=nobody", "Could not find 'character/nobody'", marks=pytest.mark.slow),
    # The same path as the first (Hydra's own message, cut to one line): with the slow tests, for the fast suite's budget.
    pytest.param("trainer.max_epoch=3", "Key 'max_epoch' is not in struct", marks=pytest.mark.slow),
])
def test_config_mistakes_are_short(tmp_path, override, expected):
    proc = run("train.py", override, tmp_path=tmp_path)
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert expected in out and "Traceback" not in out
    assert len(out.splitlines()) < 25


@pytest.mark.slow  # a train.py subprocess that composes a real series (~12 s on 2 cores)
def test_unknown_character_of_a_real_series(tmp_path):
    series = ROOT / "audiorole" / "demo" / "series"
    proc = run("train.py", "character=custom", "character.name=nobody", f"data.series_dir={series}", tmp_path=tmp_path)
    assert proc.returncode == 2
    [line] = errors(proc)
    assert "unknown character 'nobody'" in line and "characters.yaml" in line
