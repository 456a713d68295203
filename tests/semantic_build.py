"""Build the semantic stage's module and datamodule from the real config tree, on a synthetic prepared dataset."""

import hydra
from omegaconf import open_dict

SMALL_LM = ["model.lm.text_vocab=200", "model.lm.hidden_size=64", "model.lm.intermediate_size=128"]


def semantic_cfg(make_cfg, prepared, series, overrides=()):
    cfg = make_cfg(["stage=semantic", "character.name=ann", f"data.series_dir={series}", *SMALL_LM,
                    "model.val_generate=0", "model.generation.max_new_tokens=40", *overrides])
    with open_dict(cfg):
        cfg.data.out_dir = str(prepared)
    return cfg


def build(cfg):
    module = hydra.utils.instantiate(cfg.model)
    datamodule = hydra.utils.instantiate(cfg.datamodule)
    datamodule.prepare_data = lambda: None  # the synthetic dataset is already prepared (no pipeline run)
    datamodule.setup("fit")
    module.configure_model()
    return module, datamodule
