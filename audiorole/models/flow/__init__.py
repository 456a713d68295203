"""GLM-4-Voice's flow decoder (CosyVoice's ``MaskedDiffWithXvec``), written here with the authors' names.

flow.py              MaskedDiffWithXvec: embedding -> encoder -> projection -> length regulator -> CFM
encoder.py           the block-causal conformer encoder (relative-position attention)
length_regulator.py  InterpolateRegulator: token rate -> mel rate
cfm.py               ConditionalCFM: flow-matching loss and the guided Euler sampler
estimator.py         ConditionalDecoder: the U-Net velocity estimator
unet_blocks.py, transformer_block.py   its pieces (Matcha-TTS / diffusers names)
config.py            GLM-4-Voice's configuration and the builder
hyperpyyaml.py       reads the public config.yaml as data (no code runs)
decoder.py           FlowDecoder: the flow as the acoustic stage uses it; load_flow(folder or hub id)
load.py              reads a decoder folder; strict load with a one-line error
"""

from audiorole.utils.lazy import lazy_getattr

__getattr__ = lazy_getattr(__name__, {
    "MaskedDiffWithXvec": "audiorole.models.flow.flow",
    "build_flow": "audiorole.models.flow.config",
    "DEFAULT_CONFIG": "audiorole.models.flow.config",
    "FlowDecoder": "audiorole.models.flow.decoder",
    "load_flow": "audiorole.models.flow.decoder",
    "FlowLoadError": "audiorole.models.flow.load",
})
