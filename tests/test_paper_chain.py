"""experiment=paper end to end on CPU at tiny size: tokens -> semantic -> acoustic -> reply -> evaluate (bench/paper_chain.py).

The GLM-4-Voice parts read a tiny hub (every public layout, random weights, nothing fetched); ARP-Eval's judge
is an OpenAI-compatible server on 127.0.0.1. pyannote 3.1 and WhisperX large-v3 have no tiny layout: the
prepared demo keeps the offline diarizer and transcriber (their selection is checked in test_paper_preset.py).
"""

import json
import shutil

import pytest
import soundfile as sf

from conftest import bench_script
from eval_judge_server import JudgeServer

pytestmark = pytest.mark.slow


def test_paper_preset_runs_end_to_end_on_a_tiny_hub(tmp_path, demo_prepared, tiny_hub):
    # The preset's own dataset folder (demo-paper), copied from the prepared demo: the offline diarizer and
    # transcriber find their steps cached; the tiny tokenizer's tokens are new.
    data = tmp_path / "data"
    shutil.copytree(demo_prepared[0] / "prepared" / "demo", data / "prepared" / "demo-paper")
    with JudgeServer(default=("ok", 6)) as judge:
        results = bench_script("paper_chain").run_chain(tiny_hub, data, tmp_path / "chain",
                                         env={"AUDIOROLE_JUDGE_URL": judge.url, "OPENAI_API_KEY": "test-key"})
        asked = len(judge.requests)
    for step in ("semantic", "acoustic", "reply", "evaluate"):
        assert step in results and results[step]["returncode"] == 0, (step, results.get(step, {}).get("stderr_tail"))
    chain = tmp_path / "chain"

    semantic = json.loads((chain / "semantic" / "run.json").read_text())
    assert semantic["status"] == "ok" and {"val/loss", "test/loss", "val/cq", "val/cp"} <= set(semantic["metrics"])
    assert (chain / "semantic" / "lm" / "adapter" / "adapter_config.json").is_file()
    tokens = data / "prepared" / "demo-paper" / "tokens"
    index = json.loads((tokens / json.loads((tokens / "latest.json").read_text())["fingerprint"] / "index.json").read_text())
    assert index["codebook_size"] == 64  # the tiny hub's GLM-4-Voice tokenizer made these tokens

    acoustic = json.loads((chain / "acoustic" / "run.json").read_text())
    assert acoustic["status"] == "ok" and {"val/ap", "val/select", "test/ap", "test/mel_l1"} <= set(acoustic["metrics"])
    decoder = chain / "acoustic" / "decoder"
    assert (decoder / "flow.pt").is_file() and json.loads((decoder / "vocoder" / "vocoder.json").read_text())["family"] == "hift"

    wave, rate = sf.read(chain / "reply" / "reply.wav")
    assert rate == 22050 and len(wave) > 0 and (chain / "reply" / "reply.txt").is_file()
    assert "first audio" in results["reply"]["stdout_tail"] + results["reply"]["stderr_tail"]

    scored = json.loads((chain / "evaluate" / "eval.json").read_text())
    systems = {system["name"]: system["metrics"] for system in scored["systems"]}
    assert {"ground_truth", "untrained", "decoder", "glm4voice_decoder"} <= set(systems)
    assert systems["glm4voice_decoder"]["ap_n"] == 3 and systems["glm4voice_decoder"]["cq_coverage"] == 1.0
    assert systems["ground_truth"]["cq"] == 6.0 and asked > 0  # CQ and CP came from the judge
    assert scored["backends"]["cq"].startswith("judge:")
