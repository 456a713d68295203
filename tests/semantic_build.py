"""Build the semantic stage's module and datamodule from the real config tree, on a synthetic prepared dataset.

The LM is ``tiny_lm.tiny_chat_lm``: the demo's SmolLM2 recipe at test size (loading SmolLM2 itself is a slow test).
"""

import hydra
from omegaconf import open_dict


def semantic_cfg(make_cfg, prepared, series, overrides=(), character="ann"):
    cfg = make_cfg(["stage=semantic", f"character.name={character}", f"data.series_dir={series}",
                    "model.val_generate=0", "model.generation.max_new_tokens=40", *overrides])
    with open_dict(cfg):
        cfg.data.out_dir = str(prepared)
        cfg.model.lm = {"_target_": "tiny_lm.tiny_chat_lm", "_partial_": True, "prepared_dir": str(prepared)}
    return cfg


def build(cfg):
    module = hydra.utils.instantiate(cfg.model)
    datamodule = hydra.utils.instantiate(cfg.datamodule)
    datamodule.prepare_data = lambda: None  # the synthetic dataset is already prepared (no pipeline run)
    datamodule.setup("fit")
    module.configure_model()
    return module, datamodule
