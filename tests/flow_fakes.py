"""A tiny GLM-4-Voice flow config for tests that need a decoder but not its size."""

from audiorole.models.flow.config import merge_config

TINY_FLOW = {
    "vocab_size": 16, "input_size": 32,
    "encoder": {"input_size": 32, "output_size": 32, "attention_heads": 2, "linear_units": 64, "num_blocks": 1,
                "dropout_rate": 0.0, "positional_dropout_rate": 0.0, "attention_dropout_rate": 0.0, "block_size": 4},
    "length_regulator": {"sampling_ratios": [1]},
    "decoder": {"estimator": {"channels": [16, 16], "attention_head_dim": 8, "n_blocks": 1, "num_mid_blocks": 1,
                              "num_heads": 2}},
    "prior_loss_weight": 1.0,
}


def tiny_flow_config(**over) -> dict:
    """``TINY_FLOW`` with nested overrides, e.g. ``tiny_flow_config(vocab_size=64, encoder={"input_size": 48})``."""
    return merge_config(TINY_FLOW, over)


def tiny_flow(**over):
    import torch

    from audiorole.models.flow.decoder import FlowDecoder

    torch.manual_seed(0)
    return FlowDecoder(**tiny_flow_config(**over))
