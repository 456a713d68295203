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
    capsys.readouterr()
    _streams_speech_while_the_reply_is_generated(export / "merged", tmp_path / "decoder", tmp_path / "s.wav", capsys)


class ScriptedLM(torch.nn.Module):
    """Emits a fixed reply through generate()'s streamer, token by token, as a language model would."""

    def __init__(self, ids: list[int]):
        super().__init__()
        self.ids, self.anchor = ids, torch.nn.Parameter(torch.zeros(1))

    def generate(self, input_ids, streamer=None, **kwargs):
        if streamer is not None:
            streamer.put(input_ids[0])
            for i in self.ids:
                streamer.put(torch.tensor([i]))
            streamer.end()
        return torch.cat([input_ids, torch.tensor([self.ids])], dim=1)


def _streams_speech_while_the_reply_is_generated(merged, decoder_dir, out, capsys):
    from argparse import Namespace

    from audiorole.models.flow.decoder import FlowDecoder
    from audiorole.models.lm.generate import GenerationSettings
    from audiorole.text.template import ChatFormat

    _, tokenizer, chat = reply.load_lm(Namespace(adapter=None, model=str(merged)))
    fmt = ChatFormat(tokenizer, **chat)
    text = [i for i in range(fmt.vocab.size) if fmt.vocab.is_text(i)][:13]
    audio = [fmt.vocab.audio_offset + k % 16 for k in range(26)]
    ids = text + audio + text + audio + text + [fmt.vocab.stop[0]]  # 13 : 26 interleaving, 52 speech codes
    decoder = FlowDecoder.load(decoder_dir)
    args = Namespace(out=str(out), steps=2, seed=0)
    parts = reply._reply_streaming(ScriptedLM(ids), fmt, [fmt.vocab.stop[0]], GenerationSettings(), 16, decoder,
                                   None, args)
    assert len(parts.codes) == 52
    report = capsys.readouterr().out
    first, total = map(int, report.split("at token ")[1].split(";")[0].split(" of "))
    assert first == 13 + 25 and total == len(ids)  # the first block of 25 codes was spoken mid-reply
    wave, _ = sf.read(out, dtype="float32")
    assert len(wave) == int(52 / 12.5 * 22050 / 256) * 256 and np.isfinite(wave).all()


def test_bad_input_is_one_line_error(tmp_path, capsys):
    assert reply.main(["--model", str(tmp_path), "--system", "x", "--out", str(tmp_path / "r.wav")]) == 2
    assert "not a transformers model folder" in capsys.readouterr().err
    assert reply.main(["--model", str(tmp_path), "--out", str(tmp_path / "r.wav")]) == 2
    assert "--system TEXT, or --series DIR --character NAME" in capsys.readouterr().err


def test_decoding_starts_from_the_models_generation_json_and_flags_override(tmp_path):
    import argparse
    import json

    from audiorole.reply import decoding

    (tmp_path / "generation.json").write_text(json.dumps({"do_sample": True, "temperature": 0.7, "top_p": 0.9,
                                                          "max_new_tokens": 160, "text_resumes": True}))

    def args(**given):
        base = dict(adapter=str(tmp_path), model=None, sample=None, temperature=None, top_p=None,
                    repetition_penalty=None, max_new_tokens=None, seed=None)
        return argparse.Namespace(**{**base, **given})

    saved = decoding(args())
    assert saved.do_sample and saved.temperature == 0.7 and saved.text_resumes and saved.max_new_tokens == 160
    greedy = decoding(args(sample=False, max_new_tokens=40, repetition_penalty=1.2))
    assert not greedy.do_sample and greedy.max_new_tokens == 40 and greedy.repetition_penalty == 1.2
    older = decoding(args(adapter=str(tmp_path / "older")))  # an export from before generation.json: greedy
    assert not older.do_sample and older.max_new_tokens == 600
