"""The subtitle check's rule: a transcript mismatch is kept, with the subtitle as text, when the subtitle scores."""

import numpy as np

from audiorole.prep.subtitle_check import SubtitleCheck


class FixedScorer:
    def __init__(self, score):
        self.score, self.seen = score, []

    def text_logprob(self, waves, texts, sample_rate):
        self.seen.append((len(waves[0]), texts, sample_rate))
        return [self.score]


def reply(**kw):
    return {"id": "r", "text": "after all the north boy", "subtitle": "Anchor off the north buoy.",
            "words": [{"word": "after", "start": 0.0, "end": 0.3}], **kw}


def test_a_subtitle_found_in_the_audio_becomes_the_text():
    sample = reply()
    assert SubtitleCheck(FixedScorer(-1.2), min_logprob=-3.0).rescue(sample, np.zeros(16000, np.float32), 16000) is None
    assert sample["text"] == "Anchor off the north buoy." and sample["asr_text"] == "after all the north boy"
    assert sample["text_source"] == "subtitle" and sample["words"] is None and sample["subtitle_logprob"] == -1.2


def test_a_subtitle_not_found_stays_a_mismatch_and_keeps_the_transcript():
    for score in (-3.5, None):
        sample = reply()
        assert SubtitleCheck(FixedScorer(score), min_logprob=-3.0).rescue(sample, np.zeros(8000, np.float32), 16000) == "transcript_mismatch"
        assert sample["text"] == "after all the north boy" and "text_source" not in sample and sample["words"]
        assert sample["subtitle_logprob"] == score


def test_the_clip_reaches_the_scorer_at_16_khz():
    scorer = FixedScorer(-1.0)
    SubtitleCheck(scorer).rescue(reply(), np.zeros(48000, np.float32), 48000)
    assert scorer.seen == [(16000, ["Anchor off the north buoy."], 16000)]


def test_postprocess_keeps_a_rescued_mismatch_with_the_subtitle_as_text_and_records_the_rest(tmp_path):
    import json

    import soundfile as sf

    from audiorole.prep.context import EpisodeContext
    from audiorole.prep.filter import ReplyFilter
    from audiorole.prep.manifests import reply_supervision
    from audiorole.prep.postprocess import Postprocess

    sf.write(tmp_path / "audio.flac", np.zeros(16000 * 6, np.float32), 16000, subtype="PCM_16")
    samples = [reply(id="found", start=0.0, end=2.0, character="ann", scene="s", turn=0, episode="e"),
               reply(id="lost", start=3.0, end=5.0, character="ann", scene="s", turn=1, episode="e",
                     subtitle="A line nobody said here."),
               reply(id="agrees", start=2.0, end=3.0, character="ann", scene="s", turn=2, episode="e",
                     text="Anchor off the north buoy.")]
    (tmp_path / "samples.json").write_text(json.dumps(samples))
    ctx = EpisodeContext(None, None, tmp_path, results={"standardise": {"audio": str(tmp_path / "audio.flac")},
                                                        "scenes": {"samples": str(tmp_path / "samples.json")}})

    class ByText:  # the subtitle of "found" is in its audio; the other is not
        def text_logprob(self, waves, texts, sample_rate):
            return [-1.0 if t.startswith("Anchor") else -5.0 for t in texts]

    rules = ReplyFilter(language=None, min_dnsmos=None)
    (tmp_path / "out").mkdir()
    result = Postprocess(rules, enhancer=None, quality=None, subtitle_check=SubtitleCheck(ByText()))(ctx, tmp_path / "out")
    kept = {s["id"]: s for s in json.loads(open(result["kept"]).read())}
    dropped = {s["id"]: s for s in json.loads(open(result["dropped"]).read())}
    assert sorted(kept) == ["agrees", "found"] and dropped["lost"]["reason"] == "transcript_mismatch"
    assert kept["found"]["text"] == "Anchor off the north buoy." and kept["found"]["text_source"] == "subtitle"
    assert "subtitle_logprob" not in kept["agrees"]  # a transcript that agrees is not re-scored
    assert dropped["lost"]["subtitle_logprob"] == -5.0 and result["text_from_subtitle"] == 1
    custom = reply_supervision(kept["found"]).custom
    assert custom["asr_text"] == "after all the north boy" and custom["text_source"] == "subtitle"
    assert "text_source" not in reply_supervision(kept["agrees"]).custom
