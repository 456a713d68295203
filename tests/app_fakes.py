"""A log folder as training and evaluate.py leave it, small enough to build in seconds, for the app's tests.

mara: a finished acoustic run (a tiny random decoder, the fake prepared dataset of
``eval_fakes.make_prepared``); june: a finished run whose decoder export is broken; otis: a
run still going (no run.json). One evaluate run with ground truth and a decoder system.
"""

import json
from pathlib import Path

import soundfile as sf

from eval_fakes import DEMO_SERIES, make_prepared, tone

N_STEPS = 2
EVAL_ITEMS = ("ep1-s00-t00", "ep1-s01-t00")


def _run(root: Path, name: str, character: str, prepared: Path | None, status: str | None = "ok") -> Path:
    run = root / "train" / "runs" / name
    (run / "decoder").mkdir(parents=True)
    (run / "decoder" / "trained_on.json").write_text(json.dumps({"character": character}))
    if status is not None:
        config = {"data": {"out_dir": str(prepared), "series_dir": str(DEMO_SERIES)}, "model": {"n_steps": N_STEPS}}
        (run / "run.json").write_text(json.dumps({"status": status, "character": character, "config": config}))
    return run


def _eval_run(root: Path) -> Path:
    run = root / "evaluate" / "runs" / "2026-01-02_00-00-00-000000_1"
    systems = []
    for name, pitch in (("ground_truth", 180.0), ("decoder", 190.0)):
        rows = []
        for k, item in enumerate(EVAL_ITEMS):
            clip = run / "samples" / name / "mara" / f"{item}.wav"
            clip.parent.mkdir(parents=True, exist_ok=True)
            sf.write(clip, tone(pitch, 1.0 + 0.5 * k), 16000)
            rows.append({"id": item, "character": "mara", "text": f"mara line {k} 0", "ap": 0.9 - 0.1 * k, "wer": 0.1})
        systems.append({"name": name, "per_item": rows})
    (run / "eval.json").write_text(json.dumps({"systems": systems, "characters": ["mara"]}))
    return run


def make_logs(root: Path) -> Path:
    """``root/logs`` with the runs above, and ``root/prepared`` (their dataset)."""
    from flow_fakes import tiny_flow

    prepared = make_prepared(root / "prepared", context=True)
    logs = root / "logs"
    mara = _run(logs, "2026-01-01_00-00-01-000000_1", "mara", prepared)  # the newest finished run: the page's default
    tiny_flow().save(mara / "decoder")
    _run(logs, "2026-01-01_00-00-00-000000_2", "june", prepared)  # decoder/ without flow.pt
    _run(logs, "2026-01-01_00-00-02-000000_3", "otis", prepared, status=None)
    _eval_run(logs)
    return logs


def mara_train_lines(prepared: Path) -> set[str]:
    from audiorole.eval.eval_set import held_out_items

    return {i.text for i in held_out_items(prepared, "mara", part="train")}
