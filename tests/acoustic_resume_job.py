"""A small acoustic training job for the resume test: runs, records its loss per step, and can kill itself.

    python acoustic_resume_job.py PREPARED OUT [--kill-at STEP] [--resume CKPT]

Checkpoints every 3 steps (mid-epoch), like the stage's time-based last.ckpt; at the end
it validates once and writes ``final.json`` (validation metrics and a digest of the weights).
"""

import argparse
import functools
import json
import os
import signal

import lightning as L
import torch
from omegaconf import OmegaConf

from audiorole.models.flow.decoder import FlowDecoder
from callbacks.resume_state import ResumeState
from flow_fakes import TINY_FLOW
from datamodules.acoustic_datamodule import AcousticDataModule
from lightning_modules.acoustic_module import AcousticModule


class Record(L.Callback):
    def __init__(self, path, kill_at):
        self.path, self.kill_at = path, kill_at

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": trainer.global_step, "epoch": trainer.current_epoch, "batch": batch_idx,
                                "loss": float(outputs["loss"])}) + "\n")
        if self.kill_at is not None and trainer.global_step >= self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, like a pre-empted job


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prepared")
    ap.add_argument("out")
    ap.add_argument("--kill-at", type=int)
    ap.add_argument("--resume")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    dm = AcousticDataModule(OmegaConf.create({"out_dir": args.prepared}), "ann", crop_seconds=1.0, max_duration=4.0)
    dm.prepare_data = lambda: None
    decoder = FlowDecoder(**TINY_FLOW)
    module = AcousticModule(decoder, functools.partial(torch.optim.Adam, lr=3e-3), n_steps=2)
    checkpoint = L.pytorch.callbacks.ModelCheckpoint(dirpath=f"{args.out}/checkpoints", save_last=True,
                                                     every_n_train_steps=3, save_top_k=-1)
    L.seed_everything(0)
    trainer = L.Trainer(max_epochs=6, accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, check_val_every_n_epoch=100,
                        callbacks=[checkpoint, ResumeState(), Record(f"{args.out}/losses.jsonl", args.kill_at)])
    trainer.fit(module, dm, ckpt_path=args.resume)
    metrics = trainer.validate(module, dm, verbose=False)[0]
    weights = torch.cat([p.detach().flatten() for p in module.parameters()])
    with open(f"{args.out}/final.json", "w") as f:
        json.dump({"metrics": metrics, "weights": weights.tolist(), "global_step": trainer.global_step}, f)


if __name__ == "__main__":
    main()
