"""The tiny hub: every public GLM-4-Voice layout, loaded strictly by the loaders the real checkpoints go through."""

import torch

from audiorole.models.tiny_hub import DECODER, LM, TOKENIZER, main


def test_tokenizer_and_decoder_folders_load_through_the_public_loaders_with_one_codebook(tiny_hub):
    # The LM folder loads in test_paper_preset.py (the semantic stage, its <|audio_k|> rows against these codes).
    from audiorole.models.flow.decoder import FlowDecoder
    from audiorole.models.vocoder import Vocoder
    from audiorole.models.vocoder.hift import HIFT_PRESETS
    from audiorole.models.vocoder.hift_checkpoint import config_from_folder
    from audiorole.tokenizers.glm4voice import GLM4VoiceTokenizer
    from audiorole.tokenizers.tiny_checkpoint import synthetic_audio

    tokenizer = GLM4VoiceTokenizer(tiny_hub / TOKENIZER)
    codes = tokenizer.encode(synthetic_audio(1.0, seed=3))
    assert len(codes) == 13 and len(set(codes.tolist())) > 1
    flow = FlowDecoder.load(tiny_hub / DECODER)  # strict: config.yaml's flow: entry fits flow.pt
    assert flow.vocab_size == tokenizer.codebook_size == 64
    assert config_from_folder(tiny_hub / DECODER) == HIFT_PRESETS["tiny"]  # the hift: entry reads back
    vocoder = Vocoder.load_pretrained(tiny_hub / DECODER)
    with torch.inference_mode():
        wave = vocoder(flow.generate(torch.as_tensor(codes), n_steps=2, seed=0))
    assert wave.shape[-1] == flow.frames_for_tokens(len(codes)) * 256


def test_the_command_line_writes_the_three_folders(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--codebook-size", "16"]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {TOKENIZER, LM, DECODER}
    assert {p.name for p in (tmp_path / DECODER).iterdir()} == {"config.yaml", "flow.pt", "hift.pt"}
    assert f"paths.glm4voice={tmp_path}" in capsys.readouterr().out
    assert main(["--out", str(tmp_path / "x"), "--codebook-size", "1"]) == 2


def test_a_hub_id_that_cannot_be_fetched_is_one_line_naming_the_fix():
    import pytest

    from audiorole.errors import ConfigError
    from audiorole.eval.systems.loading import load_decoder
    from audiorole.models.flow.load import FlowLoadError, architecture_config
    from audiorole.models.vocoder import Vocoder

    for call, error in ((lambda: Vocoder.from_path("THUDM/glm-4-voice-decoder"), ConfigError),
                        (lambda: load_decoder("THUDM/glm-4-voice-decoder"), FlowLoadError),
                        (lambda: architecture_config("THUDM/glm-4-voice-decoder"), FlowLoadError)):
        with pytest.raises(error) as err:  # HF_HUB_OFFLINE=1 in tests: the fetch fails at once
            call()
        assert "\n" not in str(err.value) and "huggingface-cli download THUDM/glm-4-voice-decoder" in str(err.value)
