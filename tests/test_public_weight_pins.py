"""Public GLM-4-Voice decoder weights are pinned by the user: a pin that differs is refused in one line,
no pin logs the file's digest with the override that pins it."""

import logging
from pathlib import Path

import pytest

from audiorole.models.flow.decoder import FlowDecoder
from audiorole.models.vocoder import Vocoder
from audiorole.utils.weights import WeightsError, file_sha256

FIXTURES = Path(__file__).parent / "fixtures"
FLOW, HIFT = FIXTURES / "glm4voice_flow", FIXTURES / "glm4voice_hift"


def test_flow_loads_with_its_pin_and_refuses_another(caplog):
    pin = file_sha256(FLOW / "flow.pt")
    FlowDecoder(source=FLOW, sha256=pin)
    FlowDecoder(source=FLOW, sha256=pin.upper())
    with pytest.raises(WeightsError, match=r"flow\.pt: sha256 .*\(model\.decoder\.sha256\)") as err:
        FlowDecoder(source=FLOW, sha256="0" * 64)
    assert "\n" not in str(err.value)
    with caplog.at_level(logging.INFO, logger="audiorole.utils.weights"):
        FlowDecoder(source=FLOW)
    assert f"model.decoder.sha256={pin}" in caplog.text


def test_hift_loads_with_its_pin_and_refuses_another(caplog):
    pin = file_sha256(HIFT / "hift.pt")
    Vocoder.load_pretrained(HIFT, sha256=pin)
    with pytest.raises(WeightsError, match=r"hift\.pt: sha256 .*\(model\.vocoder\.sha256\)"):
        Vocoder.load_pretrained(HIFT / "hift.pt", sha256="f" * 64)
    with caplog.at_level(logging.INFO, logger="audiorole.utils.weights"):
        Vocoder.load_pretrained(HIFT)
    assert f"model.vocoder.sha256={pin}" in caplog.text


def test_the_pin_is_not_written_into_an_exported_decoder(tmp_path):
    decoder = FlowDecoder(source=FLOW, sha256=file_sha256(FLOW / "flow.pt"))
    decoder.save(tmp_path / "out")
    assert "sha256" not in (tmp_path / "out" / "config.yaml").read_text()
    FlowDecoder(source=tmp_path / "out")


def test_shipped_weights_checked_against_their_own_pins_get_no_hint(caplog):
    from audiorole.models.flow.base_decoder import base_decoder_dir

    with caplog.at_level(logging.INFO, logger="audiorole.utils.weights"):
        FlowDecoder.load(base_decoder_dir())
    assert "pin it with" not in caplog.text
