"""Every command the README and the docs pages show runs in a test.

Fast: each Hydra command (train.py, evaluate.py, ``-m audiorole.prepare``) composes and
resolves with the README's overrides (placeholders filled, the first job of a sweep), and
every other command's entry point is exercised by a named test. Slow: the demo path runs
as a new user types it (tiny overrides): train (with the default W&B offline logger: the
run's record, checkpoint, export and samples), evaluate on the export (the same AP as the
run's test/ap), the baselines for every character, re-synthesis with the export, and a new
run resumed from the first one's ``last.ckpt``.
"""

import json
import re
import shlex
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from conftest import ROOT, compose_config

README = ROOT / "README.md"
DOC_PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
HYDRA_SCRIPTS = {"train.py": "train", "evaluate.py": "evaluate", "audiorole.prepare": "prepare"}
# Entry points that are not Hydra apps -> the test that runs them (through main()/a subprocess).
OTHER_ENTRY_POINTS = {
    "scripts/install.sh": None,  # installs from the network: run by hand, its Python half is `train.py` below
    "pytest": None,  # the test suite itself
    "audiorole.speak": "tests/test_speak.py::test_cli_writes_a_wav_and_explains_bad_input",
    "audiorole.reply": "tests/test_semantic_reply.py",
    "audiorole.eval.replies": "tests/test_eval_lm_systems.py::test_trained_and_untrained_lm_answer_and_compare_paired",
    "audiorole.models.lm.convert": "tests/test_lm_convert.py",
    "audiorole.models.tiny_hub": "tests/test_tiny_hub.py::test_the_command_line_writes_the_three_folders",
    "audiorole.report": "tests/test_report.py",
    "audiorole.prep.merge": "tests/test_prep_merge.py::test_shards_then_merge",
    "audiorole.prep.truth_eval": "tests/test_prep_demo.py::test_demo_meets_the_quality_targets",
    "audiorole.prep.threshold_tradeoff": "tests/test_prep_threshold_tradeoff.py",
    "bench/semantic_memory.py": "tests/test_bench_semantic_memory.py",
    "audiorole.benchmark": "tests/test_benchmark.py",
    "audiorole.listening_test": "tests/test_listening_test.py",
    "audiorole.demo.robustness": "tests/test_demo_conditions.py::test_robustness_row_and_table",  # its sweep is minutes per condition
    "audiorole.demo.grid": "tests/test_grid_cli.py::test_grid_writes_series_with_truth_and_a_rerun_speaks_nothing",
    "audiorole.demo.grid_eval": "tests/test_grid_cli.py::test_grid_eval_scores_every_episode_with_intervals_and_memory",
    "audiorole.diarization.breakdown": "tests/test_diarization_breakdown.py::test_cli_prints_each_demo_episode_with_its_parts",
    "audiorole.demo.clean_resynthesis": "tests/test_clean_resynthesis.py::test_cli_prints_a_row_per_source_and_speech",
    "audiorole.demo.base_corpus": "tests/test_base_corpus.py::test_corpus_writer_writes_clips_and_a_manifest_and_resumes",
    "audiorole.demo.join_corpora": "tests/test_join_corpora.py::test_join_takes_train_from_all_and_held_out_from_the_last",
    # Regenerate shipped artifacts (tens of minutes on the base corpus): the files they wrote are checked against their pins.
    "audiorole.tokenizers.shipped": "tests/test_base_decoder.py::test_shipped_tokenizer_matches_its_pins_and_copies_where_asked",
    "audiorole.tokenizers.train_supervised": "tests/test_tokenizer_supervised.py::test_cli_trains_a_tokenizer_folder_from_a_corpus",
    "audiorole.models.flow.revocab": "tests/test_revocab.py",  # its two steps; the CLI pairs real tokenizers' codes
    "audiorole.models.flow.base_decoder":
        "tests/test_base_decoder.py::test_base_decoder_matches_its_pins_and_loads_strictly_into_the_tiny_config",
    "audiorole.utils.conf_reference": "tests/test_docs_site.py::test_the_configuration_reference_covers_every_config_file",
    "audiorole.app": "tests/test_app.py",
    "mkdocs": "tests/test_docs_site.py::test_the_site_builds_strict",
}


def page_commands(page) -> list[str]:
    """Commands in a page's code blocks (continuation lines joined, comments cut) and inline code."""
    text = page.read_text(encoding="utf-8")
    blocks, block, language = [], None, None
    for line in text.splitlines():
        stripped = line.strip()  # fences may be indented (inside a list item)
        if stripped.startswith("```"):
            if block is None:
                block, language = [], stripped[3:].strip()
            else:
                blocks += ["\n".join(block)] if language in ("", "bash", "sh") else []
                block = None
        elif block is not None:
            block.append(stripped)
    found = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = re.split(r"\s+#", line)[0].strip()
            if re.match(r"(srun |bash |\.venv/bin/)?(python|mkdocs)\b|bash scripts/", line):
                found.append(line)
    found += re.findall(r"`((?:\.venv/bin/)?python [^`]+)`", text)
    return list(dict.fromkeys(found))


def doc_commands() -> list[tuple[str, str]]:
    """(page, command) for every command of the README and the docs pages."""
    return [(page.relative_to(ROOT).as_posix(), c) for page in DOC_PAGES for c in page_commands(page)]


def entry_point(command: str) -> tuple[str, list[str]]:
    """(script or module, its arguments) of one command line."""
    words = shlex.split(command.split("&&")[-1])
    if any(w.endswith("mkdocs") for w in words):
        return "mkdocs", words[1:]
    words = words[words.index(next(w for w in words if w.endswith("python"))) + 1:]
    if words[0] == "-m" and words[1] != "pytest":
        return words[1], words[2:]
    return ("pytest" if words[:2] == ["-m", "pytest"] else words[0]), words[1:]


def filled(command: str, tmp) -> str:
    """The command with its ``<...>`` placeholders filled: a demo character for ``<name>``, else a path."""
    command = command.replace("<name>", "mara").replace("${SLURM_JOB_ID}", "123")  # what the shell expands
    return re.sub(r"<[^>]+>", str(tmp / "placeholder"), command)


def _filled(word: str, tmp) -> str:
    word = re.sub(r"=(DIR|/data/my_show)$", f"={tmp / 'series'}", word)
    return re.sub(r"=NAME$", "=my_show", word)


def first_job(overrides: list[str], tmp) -> list[str]:
    """Placeholders filled, ``...`` dropped, and each sweep cut to its first value."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    words, skip = [], False
    for w in overrides:  # Hydra's own flags (--cfg job, --info) are not overrides
        if not skip and not w.startswith("-") and w != "...":
            words.append(_filled(w, tmp))
        skip = w in ("--cfg", "-c", "--package", "-p", "--info", "-i")
    out = []
    for override in OverridesParser.create().parse_overrides(words):
        if override.is_sweep_override():
            value = next(iter(override.sweep_string_iterator()))
            out.append(f"{override.get_key_element()}={value}")
        else:
            out.append(override.input_line)
    return out


COMMANDS = doc_commands()
HYDRA_COMMANDS = [(page, c) for page, c in COMMANDS if entry_point(c)[0] in HYDRA_SCRIPTS]


def test_the_readme_shows_the_users_path_and_each_command_has_a_test():
    readme = [c for page, c in COMMANDS if page == "README.md"]
    # The two commands, then the path: dataset, both stages, talk to the character, score it.
    assert readme[:2] == ["bash scripts/install.sh && .venv/bin/python train.py", '.venv/bin/python -m pytest -m "not slow"']
    for step in ("audiorole.prepare", "stage=acoustic", "stage=semantic", "audiorole.app", "audiorole.reply", "evaluate.py"):
        assert any(step in c for c in readme), f"the README's path lacks {step}"
    assert len(HYDRA_COMMANDS) >= 15 and any("evaluate.py" in c for _, c in HYDRA_COMMANDS)
    unknown = {(entry_point(c)[0], page) for page, c in COMMANDS}
    unknown = {(e, page) for e, page in unknown if e not in HYDRA_SCRIPTS and e not in OTHER_ENTRY_POINTS
               and not e.startswith("bench/")}  # the benchmarks: measured by hand, cited with numbers
    assert not unknown, f"commands with no test (entry point, page): {sorted(unknown)}; add them to OTHER_ENTRY_POINTS"
    for target in filter(None, OTHER_ENTRY_POINTS.values()):
        path, _, name = target.partition("::")
        assert (ROOT / path).is_file() and (not name or f"def {name}(" in (ROOT / path).read_text()), target


@pytest.mark.parametrize("page,command", HYDRA_COMMANDS)
def test_every_hydra_command_composes_and_resolves(page, command, tmp_path):
    script, args = entry_point(filled(command, tmp_path))
    cfg = compose_config(HYDRA_SCRIPTS[script], first_job(args, tmp_path), tmp_path)
    resolved = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    assert resolved["task_name"]
    if script == "evaluate.py":
        from evaluate import _resolve_return_metric

        systems = [type("S", (), {"name": name})() for name in cfg.systems]
        _resolve_return_metric(cfg, systems)  # the README's commands never stop at the return metric
        assert cfg.return_metric.split("/")[0] in cfg.systems


# ---- the demo path, run -----------------------------------------------------------------------

def _run(tmp_path, demo_data, *words, logger="csv") -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *words, f"paths.data_dir={demo_data}", f"paths.log_dir={tmp_path}/logs",
                           *([f"logger={logger}"] if logger else [])], capture_output=True, text=True, timeout=1200,
                          cwd=ROOT)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_the_demo_commands_run_and_agree(tmp_path, demo_prepared):
    demo_data = demo_prepared[0]
    tiny = ["trainer.max_epochs=2", "trainer.check_val_every_n_epoch=1"]
    _run(tmp_path, demo_data, "train.py", *tiny, logger=None)  # `.venv/bin/python train.py`: W&B offline
    [run] = (tmp_path / "logs" / "train" / "runs").iterdir()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "decoder" / "config.yaml").is_file() and (run / "decoder" / "flow.pt").is_file()
    assert list((run / "wandb").glob("offline-run-*"))
    assert list((run / "samples").glob("epoch_*/*.wav")), "ARP-Eval wrote no audio samples"
    run_record = json.loads((run / "run.json").read_text())
    assert run_record["status"] == "ok" and run_record["optimized_metric"]["name"] == "val/select"
    trained = run_record["metrics"]
    assert {"val/ap", "val/ap_margin", "val/aq", "val/mel_l1", "val/wer", "val/cer", "val/select",
            "val/ap_ci_low", "val/ap_ci_high", "val/ap_n", "val/ap_coverage"} <= set(trained)
    assert {"test/ap", "test/aq", "test/mel_l1", "test/loss", "test/wer", "test/ap_ci_low"} <= set(trained)
    record = json.loads((run / "decoder" / "trained_on.json").read_text())
    assert record["selection"]["metric"] == "val/select" and record["character"] == "otis"
    assert record["split_fingerprint"]

    # `python evaluate.py character=otis decoder=logs/train/runs/<run>/decoder`
    _run(tmp_path, demo_data, "evaluate.py", "character=otis", f"decoder={run / 'decoder'}")
    # `python evaluate.py characters=all "systems=[ground_truth,untrained]"`
    _run(tmp_path, demo_data, "evaluate.py", "characters=all", "systems=[ground_truth,untrained]")
    first, baselines = sorted((tmp_path / "logs" / "evaluate" / "runs").iterdir())
    scored = json.loads((first / "run.json").read_text())
    assert scored["optimized_metric"]["name"] == "ground_truth/ap"
    # the run's reported test AP is what evaluate.py measures on its export
    assert scored["metrics"]["decoder/ap"] == pytest.approx(trained["test/ap"], abs=1e-4)
    report = json.loads((baselines / "eval.json").read_text())
    assert set(report["characters"]) == {"mara", "otis", "june"} and report["split"]["part"] == "test"

    # `python -m audiorole.speak --decoder logs/train/runs/<run>/decoder --audio line.wav ...`
    speak = subprocess.run([sys.executable, "-m", "audiorole.speak", "--decoder", str(run / "decoder"), "--audio",
                            str(ROOT / "audiorole/demo/series/characters/mara/mara_01.flac"), "--tokenizer",
                            str(demo_data / "prepared" / "demo" / "tokenizer" / "offline"), "--out",
                            str(tmp_path / "line.wav")], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert speak.returncode == 0 and (tmp_path / "line.wav").is_file(), speak.stderr[-2000:]

    # `python train.py ... ckpt_path=<run>/checkpoints/last.ckpt`: a new run carries on from epoch 2 to 3
    # (its re-validation and test are the first run's, checked above: skipped here to keep CI short)
    _run(tmp_path, demo_data, "train.py", "trainer.max_epochs=3", "trainer.check_val_every_n_epoch=1",
         f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}", "validate=false", "test=false")
    resumed = max(p for p in (tmp_path / "logs" / "train" / "runs").iterdir() if p != run)
    resumed_record = json.loads((resumed / "run.json").read_text())
    assert resumed_record["status"] == "ok" and "val/select" in resumed_record["metrics"]
    import torch

    assert torch.load(resumed / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["epoch"] == 2
