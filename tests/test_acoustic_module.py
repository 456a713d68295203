"""The acoustic LightningModule trains, validates, resumes and exports a loadable decoder."""

import functools

import lightning as L
import pytest
import torch
from omegaconf import OmegaConf

from audiorole.models.flow.decoder import FlowDecoder
from datamodules.acoustic_datamodule import AcousticDataModule
from lightning_modules.acoustic_module import AcousticModule
from test_acoustic_data import prepared  # noqa: F401  (fixture)
from flow_fakes import tiny_flow


MICRO_VOCODER = {"upsample_initial_channel": 16}


def tiny_decoder():
    return tiny_flow()


def test_fit_validate_export(prepared, tmp_path):  # noqa: F811
    torch.manual_seed(0)
    dm = AcousticDataModule(OmegaConf.create({"out_dir": str(prepared)}), "ann", crop_seconds=1.0, max_duration=8.0)
    dm.prepare_data = lambda: None  # the fixture is already prepared
    module = AcousticModule(tiny_decoder(), functools.partial(torch.optim.Adam, lr=3e-3), n_steps=2,
                            export_dir=str(tmp_path / "decoder"))
    trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, dm)
    metrics = trainer.callback_metrics
    assert {"train/loss", "train/flow_loss", "train/prior_loss", "val/loss", "val/mel_l1", "val/prior_l1"} <= set(metrics)
    assert all(torch.isfinite(v) for v in metrics.values())
    loaded = FlowDecoder.load(tmp_path / "decoder")
    tokens = torch.arange(10) % 16
    assert torch.equal(loaded.generate(tokens, n_steps=2, seed=1), module.decoder.eval().generate(tokens, n_steps=2, seed=1))


def tiny_gan(**kw):
    from audiorole.models.vocoder import HifiganDiscriminator, Vocoder

    torch.manual_seed(0)
    return AcousticModule(tiny_decoder(), functools.partial(torch.optim.Adam, lr=3e-3), n_steps=2,
                          vocoder=Vocoder.from_config({"upsample_initial_channel": 16}),
                          discriminator=HifiganDiscriminator(width=1 / 32, periods=(2, 3)),
                          vocoder_optimizer=functools.partial(torch.optim.AdamW, lr=2e-4, betas=(0.8, 0.99)),
                          vocoder_segment_frames=8, **kw)


def quick_trainer(**kw):
    return L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, num_sanity_val_steps=0, **kw)


def test_gan_vocoder_trains_jointly_and_exports(prepared, tmp_path):  # noqa: F811
    from audiorole.models.vocoder import Vocoder

    dm = AcousticDataModule(OmegaConf.create({"out_dir": str(prepared)}), "ann", crop_seconds=1.0, max_duration=8.0)
    dm.prepare_data = lambda: None
    module = tiny_gan(export_dir=str(tmp_path / "decoder"))
    before = {k: v.clone() for k, v in module.vocoder.generator.state_dict().items()}
    quick_trainer(max_epochs=2).fit(module, dm)
    m = module.trainer.callback_metrics
    assert {"train/loss", "train/disc_loss", "train/gen_loss", "train/gen_mel", "val/mel_l1"} <= set(m)
    after = module.vocoder.generator.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), "the generator never trained"
    vocoder = Vocoder.load(tmp_path / "decoder" / "vocoder")
    mel = torch.randn(80, 12) - 5
    assert torch.allclose(vocoder(mel), module.vocoder(mel), atol=1e-5)


def test_second_phase_freezes_flow_then_trains_vocoder(prepared):  # noqa: F811
    dm = AcousticDataModule(OmegaConf.create({"out_dir": str(prepared)}), "ann", crop_seconds=1.0, max_duration=8.0)
    dm.prepare_data = lambda: None
    module = tiny_gan(vocoder_start_epoch=1, flow_epochs=1)
    snapshots = []

    class Snapshot(L.Callback):
        def on_train_epoch_end(self, trainer, pl_module):
            snapshots.append(({k: v.clone() for k, v in pl_module.decoder.state_dict().items()},
                              {k: v.clone() for k, v in pl_module.vocoder.generator.state_dict().items()},
                              "train/gen_loss" in trainer.callback_metrics))

    start_flow = {k: v.clone() for k, v in module.decoder.state_dict().items()}
    start_voc = {k: v.clone() for k, v in module.vocoder.generator.state_dict().items()}
    quick_trainer(max_epochs=2, callbacks=[Snapshot()]).fit(module, dm)
    (flow1, voc1, gan1), (flow2, voc2, gan2) = snapshots
    changed = lambda a, b: any(not torch.equal(a[k], b[k]) for k in a)
    assert changed(start_flow, flow1) and not changed(start_voc, voc1) and not gan1  # phase 1: flow only
    assert not changed(flow1, flow2) and changed(voc1, voc2) and gan2                # phase 2: vocoder only


def test_init_from_a_base_decoder_and_mismatch_is_one_line(tmp_path):
    from pathlib import Path

    import pytest

    from audiorole.models.flow.load import FlowLoadError

    base = tiny_decoder()
    torch.manual_seed(1)
    base.save(tmp_path / "base")
    module = AcousticModule(tiny_flow(vocab_size=16), functools.partial(torch.optim.Adam), init_from=str(tmp_path / "base"))
    assert all(torch.equal(a, b) for a, b in zip(base.state_dict().values(), module.decoder.state_dict().values()))
    bigger = tiny_flow(encoder={"output_size": 48})
    with pytest.raises(FlowLoadError, match=r"model.init_from=.*: encoder.embed.out.0.weight has shape \(32, 32\), expected \(48, 32\)"):
        AcousticModule(bigger, functools.partial(torch.optim.Adam), init_from=str(tmp_path / "base"))
    with pytest.raises(FlowLoadError, match="no such checkpoint directory"):
        AcousticModule(tiny_decoder(), functools.partial(torch.optim.Adam), init_from=str(tmp_path / "nothing"))
    # the public decoder folder (here: the authors'-code fixture standing in for it) is a base too
    public = Path(__file__).parent / "fixtures" / "glm4voice_flow"
    module = AcousticModule(FlowDecoder.from_config(FlowDecoder.load(public).config), functools.partial(torch.optim.Adam),
                            init_from=str(public))
    assert torch.equal(module.decoder.encoder_proj.weight, FlowDecoder.load(public).encoder_proj.weight)


def test_init_from_a_decoder_trained_on_other_speech_tokens_is_refused_at_fit_start(tmp_path):
    from types import SimpleNamespace

    import pytest

    from audiorole.data.trained_on import write_trained_on
    from audiorole.errors import ConfigError

    tiny_decoder().save(tmp_path / "base")
    write_trained_on(tmp_path / "base", {"speech_tokens": "a" * 64})
    module = AcousticModule(tiny_flow(vocab_size=16), functools.partial(torch.optim.Adam), init_from=str(tmp_path / "base"))
    for tokens, refused in (("a" * 64, False), ("b" * 64, True)):
        datamodule = SimpleNamespace(splits=None, character="mara", token_dir=tmp_path / "tokens" / tokens)
        module.trainer = SimpleNamespace(datamodule=datamodule)  # what on_fit_start reads
        if refused:
            with pytest.raises(ConfigError, match=r"model.init_from=.* trained on speech tokens aaaaaaaaaaaa, but this "
                                                  r"run's tokens are bbbbbbbbbbbb: use the tokenizer it was trained with"):
                module.on_fit_start()
        else:
            module.on_fit_start()


def test_respond_resynthesises_items_deterministically():
    import numpy as np

    from audiorole.eval.items import EvalItem

    module = AcousticModule(tiny_decoder(), functools.partial(torch.optim.Adam), n_steps=2)
    items = [EvalItem(id=f"r{i}", character="ann", episode="ep1", scene="s", turn=i, text="hi", audio=None,
                      tokens=np.arange(5 + i) % 16) for i in range(2)]
    first, again = module.respond(items), module.respond(items)
    assert module.training  # restored
    for item, out, out2 in zip(items, first, again):
        assert out.sample_rate == 22050 and out.text is None
        assert len(out.wave) == module.decoder.frames_for_tokens(torch.tensor(len(item.tokens))).item() * 256
        assert np.array_equal(out.wave, out2.wave)


@pytest.mark.slow  # tens of seconds on 2 cores; the fast suite keeps its 5-minute budget
def test_killed_mid_epoch_resumes_from_last_ckpt(prepared, tmp_path):  # noqa: F811
    """SIGKILL mid-epoch, resume from last.ckpt: the run ends with the weights and metrics of an uninterrupted one."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    job = [sys.executable, str(Path(__file__).with_name("acoustic_resume_job.py")), str(prepared)]
    killed = subprocess.run(job + [str(tmp_path / "a"), "--kill-at", "10"], capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    before = [json.loads(x) for x in (tmp_path / "a" / "losses.jsonl").read_text().splitlines()]
    ckpt = torch.load(tmp_path / "a" / "checkpoints" / "last.ckpt", weights_only=False, map_location="cpu")
    saved_step = ckpt["global_step"]
    assert 0 < saved_step < 10 and ckpt["optimizer_states"][0]["state"], "no mid-run checkpoint with Adam state"
    steps_per_epoch = max(r["batch"] for r in before if r["epoch"] == 0) + 1
    assert saved_step % steps_per_epoch, "the checkpoint should be mid-epoch for this test to mean anything"

    resumed = subprocess.run(job + [str(tmp_path / "b"), "--resume", str(tmp_path / "a" / "checkpoints" / "last.ckpt")],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    whole = subprocess.run(job + [str(tmp_path / "c")], capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr[-2000:]

    after = [json.loads(x) for x in (tmp_path / "b" / "losses.jsonl").read_text().splitlines()]
    reference = [json.loads(x) for x in (tmp_path / "c" / "losses.jsonl").read_text().splitlines()]
    assert after[0]["step"] == saved_step + 1  # the step counter carries on
    # the same batches, in the same order, with the same random draws: the same losses, step for step
    assert [(r["step"], r["epoch"], r["batch"], r["loss"]) for r in after] == \
        [(r["step"], r["epoch"], r["batch"], r["loss"]) for r in reference[saved_step:]]
    final, uninterrupted = (json.loads((tmp_path / x / "final.json").read_text()) for x in "bc")
    assert final["global_step"] == uninterrupted["global_step"]
    assert final["weights"] == uninterrupted["weights"] and final["metrics"] == uninterrupted["metrics"]


def test_ema_weights_are_what_gets_exported(prepared, tmp_path):  # noqa: F811
    from lightning.pytorch.callbacks import EMAWeightAveraging

    dm = AcousticDataModule(OmegaConf.create({"out_dir": str(prepared)}), "ann", crop_seconds=1.0, max_duration=4.0)
    dm.prepare_data = lambda: None
    torch.manual_seed(0)
    module = AcousticModule(tiny_decoder(), functools.partial(torch.optim.Adam, lr=3e-3), n_steps=2,
                            export_dir=str(tmp_path / "decoder"))
    ema = EMAWeightAveraging(decay=0.9)
    quick_trainer(max_epochs=2, callbacks=[ema]).fit(module, dm)
    averaged = ema._average_model.module.decoder.state_dict()
    exported = FlowDecoder.load(tmp_path / "decoder").state_dict()
    assert all(torch.allclose(exported[k], averaged[k]) for k in exported)


def test_export_is_the_selected_checkpoint_with_its_record(prepared, tmp_path):  # noqa: F811
    """Selection (best dev score) picks epoch 0 of 3: the export holds epoch 0's weights, not the last."""
    import json

    import pytest
    from lightning.pytorch.callbacks import ModelCheckpoint

    from audiorole.data.splits import load_splits

    class Pick(L.Callback):  # a dev score that is best after the first epoch
        def on_validation_epoch_end(self, trainer, pl_module):
            pl_module.log("val/pick", [0.9, 0.1, 0.5][trainer.current_epoch])

        def on_train_end(self, trainer, pl_module):
            self.last = {k: v.clone() for k, v in pl_module.decoder.state_dict().items()}

    torch.manual_seed(0)
    dm = AcousticDataModule(OmegaConf.create({"out_dir": str(prepared)}), "ann", crop_seconds=1.0, max_duration=8.0)
    dm.prepare_data = lambda: None
    module = AcousticModule(tiny_decoder(), functools.partial(torch.optim.Adam, lr=3e-3), n_steps=2,
                            export_dir=str(tmp_path / "decoder"))
    pick = Pick()
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/pick", mode="max", save_top_k=1,
                                 save_last=True, filename="{epoch}")
    L.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
              num_sanity_val_steps=0, callbacks=[pick, checkpoint]).fit(module, dm)

    best = torch.load(checkpoint.best_model_path, weights_only=False)
    exported = FlowDecoder.load(tmp_path / "decoder").state_dict()
    assert checkpoint.best_model_path.endswith("epoch=0.ckpt")
    assert all(torch.equal(exported[k], best["state_dict"][f"decoder.{k}"]) for k in exported)
    assert any(not torch.equal(exported[k], pick.last[k]) for k in exported), "exported the last epoch"
    record = json.loads((tmp_path / "decoder" / "trained_on.json").read_text())
    splits = load_splits(prepared)
    assert record["split_fingerprint"] == splits.fingerprint and record["dataset_fingerprint"] == splits.dataset_fingerprint
    assert record["character"] == "ann"
    assert record["selection"] == {"metric": "val/pick", "mode": "max", "value": pytest.approx(0.9), "epoch": 0,
                                   "global_step": best["global_step"], "checkpoint": checkpoint.best_model_path}
    assert best["trained_on"]["split_fingerprint"] == splits.fingerprint  # a .ckpt is checked the same way


def test_fixed_vocoder_is_frozen_kept_out_of_checkpoints_and_exported(prepared, tmp_path):  # noqa: F811
    from audiorole.models.vocoder import Vocoder

    dm = AcousticDataModule(OmegaConf.create({"out_dir": str(prepared)}), "ann", crop_seconds=1.0, max_duration=8.0)
    dm.prepare_data = lambda: None
    fixed = Vocoder.from_config(MICRO_VOCODER).for_inference()
    module = AcousticModule(tiny_decoder(), functools.partial(torch.optim.Adam, lr=3e-3), n_steps=0, vocoder=fixed,
                            export_dir=str(tmp_path / "decoder"))
    before = {k: v.clone() for k, v in fixed.state_dict().items()}
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", logger=False, default_root_dir=tmp_path,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, dm)
    assert all(torch.equal(before[k], v) for k, v in fixed.state_dict().items())
    assert module.synthesis_vocoder() is fixed
    ckpt_path = trainer.checkpoint_callback.last_model_path or trainer.checkpoint_callback.best_model_path
    state = torch.load(ckpt_path, weights_only=False)["state_dict"]
    assert state and not any(k.startswith("vocoder.") for k in state)
    quick_trainer(max_epochs=2).fit(module, dm, ckpt_path=ckpt_path)  # resumes with strict loading
    mel = torch.randn(80, 12) - 5
    assert torch.allclose(Vocoder.load(tmp_path / "decoder" / "vocoder")(mel), fixed(mel), atol=1e-5)
