"""`python -m audiorole.reply`: adapter or merged model, persona, context -> reply text and wav."""

import numpy as np
import pytest
import soundfile as sf
import torch

from audiorole import reply
from semantic_build import build, semantic_cfg
from semantic_fakes import make_prepared


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return make_prepared(tmp_path_factory.mktemp("semantic_reply"))


def test_parse_context_reads_speaker_lines():
    turns = reply.parse_context("mara: Cast off.\n\nno speaker here\n")
    assert [(t.speaker, t.text) for t in turns] == [("mara", "Cast off."), ("user", "no speaker here")]


def test_adapter_and_merged_export_answer_alike_and_speak(make_cfg, prepared, tmp_path, capsys):
    from flow_fakes import tiny_flow

    prepared_dir, series = prepared
    module, _ = build(semantic_cfg(make_cfg, *prepared))
    with torch.no_grad():
        for name, p in module.model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05, generator=torch.Generator().manual_seed(len(name)))
    export = module.export(tmp_path / "lm")
    assert (export / "adapter" / "base.yaml").is_file() and (export / "adapter" / "chat.json").is_file()
    tiny_flow().save(tmp_path / "decoder")
    common = ["--series", str(series), "--character", "ann", "--context", "bob: Well, I suppose.",
              "--max-new-tokens", "40", "--steps", "2", "--decoder", str(tmp_path / "decoder")]
    assert reply.main(["--adapter", str(export / "adapter"), "--out", str(tmp_path / "a.wav"), *common]) == 0
    assert reply.main(["--model", str(export / "merged"), "--out", str(tmp_path / "m.wav"), *common]) == 0
    assert (tmp_path / "a.txt").read_text() == (tmp_path / "m.txt").read_text()  # greedy: merged == adapter
    a, rate = sf.read(tmp_path / "a.wav", dtype="float32")
    m, _ = sf.read(tmp_path / "m.wav", dtype="float32")
    assert rate == 22050 and len(a) == len(m)
    assert np.isfinite(a).all()


def test_bad_input_is_one_line_error(tmp_path, capsys):
    assert reply.main(["--model", str(tmp_path), "--system", "x", "--out", str(tmp_path / "r.wav")]) == 2
    assert "not a transformers model folder" in capsys.readouterr().err
    assert reply.main(["--model", str(tmp_path), "--out", str(tmp_path / "r.wav")]) == 2
    assert "--system TEXT, or --series DIR --character NAME" in capsys.readouterr().err
