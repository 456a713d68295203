"""GLM-4-Voice's flow decoder (CosyVoice's ``MaskedDiffWithXvec``), written here with the authors' names.

flow.py              MaskedDiffWithXvec: embedding -> encoder -> projection -> length regulator -> CFM
encoder.py           the block-causal conformer encoder (relative-position attention)
length_regulator.py  InterpolateRegulator: token rate -> mel rate
cfm.py               ConditionalCFM: flow-matching loss and the guided Euler sampler
estimator.py         ConditionalDecoder: the U-Net velocity estimator
unet_blocks.py, transformer_block.py   its pieces (Matcha-TTS / diffusers names)
config.py            GLM-4-Voice's configuration and the builder
hyperpyyaml.py       reads the public config.yaml as data (no code runs)
load.py              load_flow(folder or hub id): strict load of the public flow.pt
"""

from audiorole.utils.lazy import lazy_getattr

__getattr__ = lazy_getattr(__name__, {
    "MaskedDiffWithXvec": "audiorole.models.glm4voice_flow.flow",
    "build_flow": "audiorole.models.glm4voice_flow.config",
    "DEFAULT_CONFIG": "audiorole.models.glm4voice_flow.config",
    "load_flow": "audiorole.models.glm4voice_flow.load",
    "FlowLoadError": "audiorole.models.glm4voice_flow.load",
})
