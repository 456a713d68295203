"""experiment=paper: every part of the paper's recipe selected at once, and each part loads from a tiny hub."""

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

PAPER = ["experiment=paper", "character=tyrion", "data=game_of_thrones"]
CODES = 64  # write_tiny_hub's default codebook


def resolved(cfg) -> dict:
    """The config as the entry points see it; fails on any ??? left for the user."""
    return OmegaConf.to_container(OmegaConf.create({k: v for k, v in cfg.items() if k != "hydra"}), resolve=True,
                                  throw_on_missing=True)


@pytest.mark.parametrize("stage", ["acoustic", "semantic"])
def test_the_readme_line_selects_every_part_with_nothing_missing(make_cfg, stage):
    cfg = resolved(make_cfg([*PAPER, f"stage={stage}"]))
    prep = cfg["data"]["prep"]
    assert prep["diarize"]["backend"]["_target_"].endswith("PretrainedDiarizer")
    assert prep["diarize"]["backend"]["source"] == "pyannote/speaker-diarization-3.1"
    assert (prep["transcribe"]["backend"]["backend"], prep["transcribe"]["backend"]["model"]) == ("whisperx", "large-v3")
    assert prep["postprocess"]["enhancer"]["_target_"].endswith("DFN3Onnx")  # DeepFilterNet3's released weights
    assert cfg["tokenizer"]["_target_"].endswith("GLM4VoiceTokenizer")
    assert cfg["tokenizer"]["source"] == "THUDM/glm-4-voice-tokenizer"
    assert (cfg["trainer"]["accelerator"], cfg["trainer"]["precision"]) == ("gpu", "bf16-mixed")
    assert cfg["eval"]["name"] == "judge" and cfg["eval"]["judge"]["api_key_env"] == "OPENAI_API_KEY"
    assert cfg["task_name"] == "paper" and "experiment:paper" in cfg["tags"]
    assert cfg["data"]["name"] == "game_of_thrones" and cfg["character"]["name"] == "tyrion"
    assert cfg["data"]["out_dir"].endswith("prepared/game_of_thrones-paper")  # apart from the offline recipe's
    model = cfg["model"]
    if stage == "semantic":
        assert model["lm"]["path"] == "THUDM/glm-4-voice-9b" and model["lm"]["dtype"] == "bfloat16"
        assert (model["lora"]["r"], model["lora"]["lora_alpha"], model["lora"]["lora_dropout"]) == (32, 64, 0.05)
        assert model["gradient_checkpointing"] and model["chat"]["prefix"] == ["[gMASK]", "<sop>"]
    else:
        assert model["decoder"]["architecture"] == "THUDM/glm-4-voice-decoder"
        assert model["init_from"] is None  # from scratch, as the paper trains it
        assert model["vocoder"]["path"] == "THUDM/glm-4-voice-decoder" and model["discriminator"] is None
        assert (model["n_steps"], model["optimizer"]["lr"], model["scheduler"]["warmup_steps"]) == (10, 1e-3, 2500)


def test_the_preset_alone_composes_with_nothing_missing(make_cfg):
    # python train.py experiment=paper --cfg job: the defaults (stage, character, data) fill in the rest.
    cfg = resolved(make_cfg(["experiment=paper"]))
    assert cfg["task_name"] == "paper" and cfg["stage_name"] == "acoustic"
    assert cfg["model"]["decoder"]["architecture"] == "THUDM/glm-4-voice-decoder"


def test_evaluate_scores_the_public_decoder_with_its_own_vocoder(make_cfg):
    cfg = resolved(make_cfg([*PAPER, "systems=[ground_truth,untrained,decoder,glm4voice_decoder]", "decoder=/d"],
                            config_name="evaluate"))
    baseline = cfg["systems"]["glm4voice_decoder"]
    assert baseline["source"] == baseline["vocoder"] == "THUDM/glm-4-voice-decoder"
    assert cfg["eval"]["name"] == "judge" and cfg["tokenizer"]["source"] == "THUDM/glm-4-voice-tokenizer"


def test_the_real_prep_backends_build_without_loading_anything(make_cfg):
    cfg = make_cfg([*PAPER, "stage=acoustic"])
    diarize, transcribe = instantiate(cfg.data.prep.diarize), instantiate(cfg.data.prep.transcribe)
    assert diarize.backend.name == "pyannote:pyannote/speaker-diarization-3.1"
    assert transcribe.backend.model_spec == "large-v3"


def test_semantic_stage_loads_the_hub_lm_with_the_tokenizers_codes(make_cfg, tiny_hub):
    cfg = make_cfg([*PAPER, "stage=semantic", f"paths.glm4voice={tiny_hub}", "tokenizer.device=cpu",
                    "model.lm.dtype=float32"])
    tokenizer = instantiate(cfg.tokenizer)
    module = instantiate(cfg.model)
    module.configure_model()
    assert tokenizer.codebook_size == module.chat.vocab.n_audio == CODES  # tokens fit the LM's <|audio_k|> rows
    trainable = [n for n, p in module.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)


def test_acoustic_stage_trains_from_scratch_in_the_hub_decoders_shape(make_cfg, tiny_hub):
    from audiorole.models.flow.decoder import FlowDecoder
    from audiorole.models.vocoder import HiFTGenerator

    cfg = make_cfg([*PAPER, "stage=acoustic", f"paths.glm4voice={tiny_hub}"])
    module = instantiate(cfg.model)
    public = FlowDecoder.load(tiny_hub / "glm-4-voice-decoder")
    ours, theirs = module.decoder.state_dict(), public.state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}
    assert module.decoder.vocab_size == CODES
    assert not torch.equal(ours["input_embedding.weight"], theirs["input_embedding.weight"])  # random, not loaded
    assert isinstance(module.vocoder.generator, HiFTGenerator) and not module.vocoder.training  # fixed public HiFT
    started = instantiate(cfg.model, init_from=str(tiny_hub / "glm-4-voice-decoder"))  # our option
    assert all(torch.equal(v, theirs[k]) for k, v in started.decoder.state_dict().items())
