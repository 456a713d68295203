"""evaluate.py's semantic systems: a trained adapter and the untrained LM answer the test scenes, compared paired;
``python -m audiorole.eval.replies`` shows the first replies beside the real ones."""

import dataclasses
import json

import pytest
import torch
from omegaconf import open_dict

from audiorole.data.splits import load_splits
from audiorole.data.trained_on import write_trained_on
from audiorole.errors import AudioroleError
from audiorole.eval import replies
from audiorole.eval.eval_set import held_out_items
from audiorole.eval.run import run_evaluation
from audiorole.eval.systems import GroundTruth, LMReplies
from audiorole.utils.instantiate import instantiate_group
from eval_fakes import DEMO_SERIES, Result, make_prepared
from semantic_build import build, semantic_cfg
from test_semantic_module import _perturbed

CHARACTER = "mara"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """(prepared dir, series dir): the demo's three characters, replies with their scenes' earlier turns."""
    return make_prepared(tmp_path_factory.mktemp("eval_lm"), context=True), DEMO_SERIES


class WordEvaluator:
    """ARPEvaluator's interface for text-only outputs: CQ and CP from shared words (the real backends are slow tests)."""

    metrics = ("cq", "cp")

    def prepare(self, enrollment, training_lines, personas=None):
        self.lines = training_lines

    def score(self, items, outputs):
        from audiorole.eval.metrics import summarize

        def overlap(text, reference):
            words = set(reference.lower().split())
            return len(words & set((text or "").lower().split())) / max(1, len(words))

        per_item = [{"id": i.id, "character": i.character, "text": o.text, "cq": overlap(o.text, i.text),
                     "cp": overlap(o.text, " ".join(self.lines.get(i.character, [])))} for i, o in zip(items, outputs)]
        return Result(summarize(per_item), per_item, {"cq": "words", "cp": "words"}, {"items": len(items)})


def _module_cfg(make_cfg, prepared, overrides=()):
    return semantic_cfg(make_cfg, *prepared, ["model.generation.max_new_tokens=40", *overrides], character=CHARACTER)


@pytest.fixture
def adapter(make_cfg, prepared, tmp_path):
    """A tiny semantic run's adapter export (LoRA factors moved off zero, so it answers unlike the base)."""
    torch.manual_seed(0)  # LoRA's A matrices are drawn at wrap time
    module, _ = build(_module_cfg(make_cfg, prepared, ["model.export_merged=false"]))
    _perturbed(module)
    path = module.export(tmp_path / "lm") / "adapter"
    splits = load_splits(prepared[0])
    write_trained_on(path, {"split_fingerprint": splits.fingerprint, "dataset_fingerprint": splits.dataset_fingerprint})
    return path, module


def _systems(make_cfg, prepared, adapter_dir):
    prepared_dir, series = prepared
    cfg = make_cfg(["stage=semantic", f"character.name={CHARACTER}", f"data.series_dir={series}", f"adapter={adapter_dir}",
                    "systems=[ground_truth,lm,untrained_lm]", "model.generation.max_new_tokens=40"],
                   config_name="evaluate")
    with open_dict(cfg):
        cfg.data.out_dir = str(prepared_dir)
        cfg.model.lm = {"_target_": "tiny_lm.tiny_chat_lm", "_partial_": True, "prepared_dir": str(prepared_dir)}
    return cfg, instantiate_group(cfg.systems)


def test_trained_and_untrained_lm_answer_and_compare_paired(make_cfg, prepared, adapter, tmp_path, capsys):
    adapter_dir, trained = adapter
    cfg, systems = _systems(make_cfg, prepared, adapter_dir)
    assert [type(s) for s in systems] == [GroundTruth, LMReplies, LMReplies]
    assert [s.name for s in systems] == ["ground_truth", "lm", "untrained_lm"]
    assert cfg.eval.metrics == ["cq", "cp"]  # the stage scores what the LM says

    torch.manual_seed(1)  # the untrained row must not depend on the global seed (its added rows are seeded)
    report = run_evaluation(WordEvaluator(), systems, prepared[0], prepared[1], [CHARACTER],
                            tmp_path / "eval", compare=cfg.comparisons)

    items = held_out_items(prepared[0], CHARACTER, part="test")
    rows = {s["name"]: [r["text"] for r in s["per_item"]] for s in report["systems"]}
    # The trained row says what the trained module says; the untrained row what a fresh base (B = 0) says.
    assert rows["lm"] == [o.text for o in trained.respond(items)]
    untrained, _ = build(_module_cfg(make_cfg, prepared))
    assert rows["untrained_lm"] == [o.text for o in untrained.respond(items)]
    # ... because the rows' models are the adapter's and the bare base's (tiny random LMs may say nothing at all).
    ids = torch.tensor([trained.chat.prompt("You are Mara.", []) + [trained.chat.vocab.audio_offset + 1] * 5])
    with torch.no_grad():
        lm_logits = systems[1]._loaded[str(adapter_dir)][0](ids).logits
        torch.testing.assert_close(lm_logits, trained.model(ids).logits)
        assert not torch.allclose(lm_logits, systems[2]._loaded[None][0](ids).logits, atol=1e-4)
    assert rows["ground_truth"] == [i.text for i in items]

    saved = json.loads((tmp_path / "eval" / "eval.json").read_text())
    compared = {(c["a"], c["b"], c["metric"]): c for c in saved["comparisons"]}
    assert set(compared) == {("lm", "untrained_lm", "cq"), ("lm", "untrained_lm", "cp")}
    cq = compared[("lm", "untrained_lm", "cq")]
    assert cq["n"] == len(items) and cq["ci_low"] <= cq["diff"] <= cq["ci_high"]

    # The first test items' replies beside the real one, as the README shows them.
    assert replies.main([str(tmp_path / "eval" / "eval.json"), "--n", "2"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "| item | ground_truth | lm | untrained_lm |" and len(table) == 2 + 2
    assert table[2].startswith(f"| {items[0].id} | {items[0].text} | ")
    assert replies.main([str(tmp_path / "missing.json")]) == 2


def test_an_adapter_from_another_split_or_no_lm_is_refused(make_cfg, prepared, adapter, tmp_path):
    adapter_dir, _ = adapter
    write_trained_on(adapter_dir, {"split_fingerprint": "f" * 64, "dataset_fingerprint": "f" * 64})
    _, systems = _systems(make_cfg, prepared, adapter_dir)
    with pytest.raises(AudioroleError, match="trained on split ffffffffffff"):
        run_evaluation(WordEvaluator(), systems, prepared[0], prepared[1], [CHARACTER], tmp_path)
    with pytest.raises(AudioroleError, match="not a LoRA adapter folder"):
        LMReplies(adapter=tmp_path)
    with pytest.raises(AudioroleError, match="no LM given"):
        LMReplies()
    items = held_out_items(prepared[0], CHARACTER, part="test")[:1]
    with pytest.raises(AudioroleError, match=f"no adapter for character '{CHARACTER}'"):
        LMReplies(adapter={"otis": adapter_dir}).respond(items)


def test_each_character_can_have_its_own_adapter(make_cfg, prepared, adapter):
    adapter_dir, trained = adapter
    items = held_out_items(prepared[0], CHARACTER, part="test")[:2]
    mapped = LMReplies(adapter={CHARACTER: str(adapter_dir)}, generation=dataclasses.asdict(trained.generation),
                       series_dir=str(prepared[1]))
    assert [o.text for o in mapped.respond(items)] == [o.text for o in trained.respond(items)]
    assert mapped.trained_sources() == [str(adapter_dir)] and mapped.describe()["adapter"] == {CHARACTER: str(adapter_dir)}


def test_each_character_speaks_with_its_decoder_and_the_vocoder_beside_it(make_cfg, prepared, adapter, tmp_path,
                                                                           monkeypatch):
    """The reply's codes are spoken by the character's decoder through the vocoder its run exported (not
    Griffin-Lim); the decoders count as trained parts, checked against the split like the adapter."""
    import numpy as np

    from audiorole.models.lm import respond as respond_lib
    from audiorole.models.vocoder.vocoder import Vocoder
    from flow_fakes import tiny_flow

    adapter_dir, trained = adapter
    folder = tmp_path / "decoder"
    tiny_flow(vocab_size=trained.chat.vocab.n_audio).eval().save(folder)
    torch.manual_seed(0)
    Vocoder.from_config("tiny").save(folder / "vocoder")
    spoken = []

    def speak(codes, decoder, vocoder=None, n_steps=10):
        if decoder is None:
            return np.zeros(0, np.float32)
        spoken.append((decoder, vocoder, n_steps))
        return np.ones(decoder.sample_rate, np.float32)

    monkeypatch.setattr(respond_lib, "speak", speak)
    items = held_out_items(prepared[0], CHARACTER, part="test")[:2]
    settings = {**dataclasses.asdict(trained.generation), "max_new_tokens": 40}
    system = LMReplies(adapter=str(adapter_dir), generation=settings, series_dir=str(prepared[1]),
                       decoder={CHARACTER: str(folder)}, decoder_steps=2)
    outputs = system.respond(items)
    decoder, vocoder = system._voice(CHARACTER)
    assert isinstance(vocoder, Vocoder) and spoken == [(decoder, vocoder, 2)] * 2
    assert all(o.sample_rate == decoder.sample_rate and o.wave.size for o in outputs)
    plain = LMReplies(adapter=str(adapter_dir), generation=settings, series_dir=str(prepared[1])).respond(items)
    assert [o.text for o in plain] == [o.text for o in outputs]
    assert system.trained_sources() == [str(adapter_dir), str(folder)]
    with pytest.raises(AudioroleError, match="no decoder for character"):
        LMReplies(adapter=str(adapter_dir), generation=settings, decoder={"otis": str(folder)}).respond(items)


def test_replies_table_can_carry_the_saved_samples_as_mp3(tmp_path, capsys):
    import numpy as np
    import soundfile as sf

    run = tmp_path / "run"
    rows = [{"id": f"ep1-s0{k}-t00", "character": "mara", "text": f"line {k}"} for k in range(3)]
    report = {"systems": [{"name": "ground_truth", "per_item": rows},
                          {"name": "lm", "per_item": [dict(r, text=f"said {k}") for k, r in enumerate(rows)]}]}
    run.mkdir()
    (run / "eval.json").write_text(json.dumps(report))
    for k in range(2):  # save_audio=2: the third item has no clip
        wav = run / "samples" / "lm" / "mara" / f"ep1-s0{k}-t00.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        sf.write(wav, 0.1 * np.sin(np.arange(8000) / 9.0).astype(np.float32), 16000)
    assert replies.main([str(run / "eval.json"), "--n", "3", "--audio", str(tmp_path / "mp3"),
                         "--link-base", "samples/replies"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert sorted(p.name for p in (tmp_path / "mp3").iterdir()) == ["ep1-s00-t00_lm.mp3", "ep1-s01-t00_lm.mp3"]
    assert table[2].endswith('said 0<br><audio controls preload="none" src="samples/replies/ep1-s00-t00_lm.mp3"></audio> |')
    assert table[4] == "| ep1-s02-t00 | line 2 | said 2 |"
    wave, rate = sf.read(tmp_path / "mp3" / "ep1-s00-t00_lm.mp3")
    assert rate == 16000 and abs(len(wave) - 8000) < 2000
