"""Build the flow from the authors' nested configuration (``config.yaml``'s ``flow:`` section).

``DEFAULT_CONFIG`` is GLM-4-Voice's decoder: built from it, the model has the published
``flow.pt``'s 1,185 tensors with their names and shapes. A config read from a folder is merged
over it, so a partial or unreadable config still gives the published shapes.
"""

from __future__ import annotations

import copy

from audiorole.errors import ConfigError
from audiorole.models import hyperpyyaml
from audiorole.models.flow.cfm import ConditionalCFM
from audiorole.models.flow.encoder import BlockConformerEncoder
from audiorole.models.flow.estimator import ConditionalDecoder
from audiorole.models.flow.flow import MEL_FEAT_CONF, MaskedDiffWithXvec
from audiorole.models.flow.length_regulator import InterpolateRegulator

# encoder options GLM-4-Voice's config sets that this implementation has one fixed form of
ENCODER_FIXED = {"input_layer": "linear", "pos_enc_layer_type": "rel_pos_espnet", "normalize_before": True,
                 "selfattention_layer_type": "block_rel_selfattn", "activation_type": "swish",
                 "use_cnn_module": False, "macaron_style": False, "static_chunk_size": 0,
                 "use_dynamic_chunk": False, "use_dynamic_left_chunk": False}
DEFAULT_CONFIG = {
    "input_size": 512, "output_size": 80, "spk_embed_dim": 192, "output_type": "mel", "vocab_size": 16384,
    "input_frame_rate": 12.5, "only_mask_loss": True, "mel_feat_conf": dict(MEL_FEAT_CONF),
    "encoder": {"input_size": 512, "output_size": 512, "attention_heads": 8, "linear_units": 2048, "num_blocks": 6,
                "dropout_rate": 0.1, "positional_dropout_rate": 0.1, "attention_dropout_rate": 0.1,
                "key_bias": True, "block_size": 10, **ENCODER_FIXED},
    "length_regulator": {"channels": 80, "sampling_ratios": [1, 1, 1, 1]},
    "decoder": {"in_channels": 240, "n_spks": 1, "spk_emb_dim": 80,
                "cfm_params": {"sigma_min": 1e-6, "solver": "euler", "t_scheduler": "cosine",
                               "training_cfg_rate": 0.2, "inference_cfg_rate": 0.7, "reg_loss_type": "l1"},
                "estimator": {"in_channels": 320, "out_channels": 80, "channels": [256, 256], "dropout": 0.0,
                              "attention_head_dim": 64, "n_blocks": 4, "num_mid_blocks": 12, "num_heads": 8,
                              "act_fn": "gelu"}},
}

_ENCODER_IGNORED = {"positionwise_conv_kernel_size", "cnn_module_kernel", "causal", "cnn_module_norm",
                    "gradient_checkpointing", "global_cmvn"}
FLOW_KEYS = ("input_size", "output_size", "spk_embed_dim", "output_type", "vocab_size", "input_frame_rate",
             "only_mask_loss", "mel_feat_conf")
# our additions, for training only, not part of the authors' config: the loss settings MaskedDiffWithXvec
# documents, and FlowDecoder's mel_init_level
LOSS_KEYS = ("prior_loss_weight", "prefix_prob", "prefix_max")
TRAINING_KEYS = LOSS_KEYS + ("mel_init_level",)


def merge_config(base: dict, over: dict | None) -> dict:
    """``over`` merged into a copy of ``base``, nested dicts key by key."""
    out = copy.deepcopy(base)
    for key, value in (over or {}).items():
        out[key] = merge_config(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _cfm_params(raw: dict) -> dict:
    # the authors wrap these in `!new:omegaconf.DictConfig {content: {...}}`
    return raw.get("content", raw) if isinstance(raw, dict) else {}


def _plain(value):
    """Hydra hands over OmegaConf containers, at the top or nested in plain kwargs: make everything plain."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if type(value).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf

        return OmegaConf.to_container(value, resolve=True)
    return value


def _untagged(value):
    """Drop HyperPyYAML's ``_target_`` / ``_name_`` keys (checked already): a config is data, never instantiated."""
    if isinstance(value, dict):
        return {k: _untagged(v) for k, v in value.items() if not (k.startswith("_") and k.endswith("_"))}
    return value


def merged_config(config: dict | None = None) -> dict:
    """``config`` (the ``flow:`` section or a partial override, plain or OmegaConf) over ``DEFAULT_CONFIG``."""
    config = _plain(config or {})
    target = (config.get("encoder") or {}).get("_target_", "")
    if target and not target.endswith("BlockConformerEncoder"):
        raise ConfigError(f"flow.encoder {target!r} is not supported; GLM-4-Voice's flow uses BlockConformerEncoder")
    decoder = dict(config.get("decoder") or {})
    if "cfm_params" in decoder:
        decoder["cfm_params"] = _cfm_params(decoder["cfm_params"])
    return _untagged(merge_config(DEFAULT_CONFIG, {**config, "decoder": decoder}))


def _encoder(conf: dict) -> BlockConformerEncoder:
    kwargs = {}
    for key, value in conf.items():
        if key in ENCODER_FIXED:
            if value != ENCODER_FIXED[key]:
                raise ConfigError(f"flow.encoder.{key}={value!r} is not supported (only {ENCODER_FIXED[key]!r}, "
                                  "GLM-4-Voice's setting)")
        elif key not in _ENCODER_IGNORED:
            kwargs[key] = value
    return BlockConformerEncoder(**kwargs)


def flow_modules(conf: dict) -> dict:
    """``MaskedDiffWithXvec`` keyword arguments, submodules built, from a merged config."""
    dec, est = conf["decoder"], conf["decoder"]["estimator"]
    if est["in_channels"] != dec["in_channels"] + dec["spk_emb_dim"]:
        raise ConfigError(f"flow.decoder.estimator.in_channels={est['in_channels']} must be decoder.in_channels + "
                          f"spk_emb_dim = {dec['in_channels'] + dec['spk_emb_dim']} (x, mu, cond + speaker)")
    params = dec["cfm_params"]
    cfm = ConditionalCFM(ConditionalDecoder(**est),
                         sigma_min=params["sigma_min"], t_scheduler=params["t_scheduler"],
                         training_cfg_rate=params["training_cfg_rate"], inference_cfg_rate=params["inference_cfg_rate"])
    regulator = InterpolateRegulator(**conf["length_regulator"])
    kwargs = {k: conf[k] for k in FLOW_KEYS}
    kwargs.update({k: conf[k] for k in LOSS_KEYS if k in conf})
    return dict(kwargs, encoder=_encoder(conf["encoder"]), length_regulator=regulator, decoder=cfm)


def build_flow(config: dict | None = None) -> MaskedDiffWithXvec:
    """A randomly initialised flow from a (partial) nested config; see ``DEFAULT_CONFIG``."""
    return MaskedDiffWithXvec(**flow_modules(merged_config(config)))


def authors_layout(conf: dict) -> dict:
    """A merged config as the authors' ``flow:`` section, tagged so their HyperPyYAML loader builds the same model."""
    dec = conf["decoder"]
    encoder = dict(conf["encoder"])
    return hyperpyyaml.Tagged("!new:cosyvoice.flow.flow.MaskedDiffWithXvec", {
        **{k: conf[k] for k in FLOW_KEYS},
        "encoder": hyperpyyaml.Tagged("!new:cosyvoice.transformer.encoder.BlockConformerEncoder",
                                      encoder),
        "length_regulator": hyperpyyaml.Tagged("!new:cosyvoice.flow.length_regulator.InterpolateRegulator",
                                               dict(conf["length_regulator"])),
        "decoder": hyperpyyaml.Tagged("!new:cosyvoice.flow.flow_matching.ConditionalCFM", {
            "in_channels": dec["in_channels"], "n_spks": dec["n_spks"], "spk_emb_dim": dec["spk_emb_dim"],
            "cfm_params": hyperpyyaml.Tagged("!new:omegaconf.DictConfig", {"content": dict(dec["cfm_params"])}),
            "estimator": hyperpyyaml.Tagged("!new:cosyvoice.flow.decoder.ConditionalDecoder",
                                            dict(dec["estimator"])),
        }),
    })
