"""A small synthetic prepared dataset with scenes, context turns, personas and a token cache (for semantic-stage tests)."""

from pathlib import Path

import numpy as np
import soundfile as sf

from audiorole.prep.manifests import write_manifests
from audiorole.tokenizers.cache import build_token_cache
from audiorole.utils.atomic import write_jsonl
from test_token_cache import CountingTokenizer

LINES = {
    "ann": ["Cast off now.", "Mind the shoals.", "Hold course.", "Lines in.", "Steady as she goes.", "Dock at dawn."],
    "bob": ["Well, I suppose the archive might explain it.", "Honestly, the history of this harbor is long.",
            "Perhaps, although I would hesitate to say so.", "It is, in point of fact, quite curious."],
}


def make_series(root: Path) -> Path:
    (root / "episodes").mkdir(parents=True)
    sf.write(root / "episodes" / "ep1.wav", np.zeros(16000, dtype=np.float32), 16000)
    (root / "characters.yaml").write_text(
        "series: Test Harbor\nlanguage: en\ncharacters:\n"
        "  ann:\n    display_name: Ann\n    subtitle_names: [ANN]\n    persona: Ann is a terse captain.\n"
        "  bob:\n    display_name: Bob\n    subtitle_names: [BOB]\n    persona: Bob is a verbose professor.\n")
    return root


def make_prepared(root: Path) -> tuple[Path, Path]:
    """(prepared dir, series dir): 4 scenes of 3 turns alternating ann/bob, 16-code tokens at 12.5 Hz."""
    series = make_series(root / "series")
    prepared = root / "prepared"
    (prepared / "audio").mkdir(parents=True)
    rng = np.random.default_rng(0)
    episode = root / "ep1.flac"
    sf.write(episode, (0.05 * rng.standard_normal(16000 * 80)).astype(np.float32), 16000)
    kept, counts = [], {"ann": 0, "bob": 0}
    for scene in range(4):
        previous = []
        for turn in range(3):
            who = "ann" if (scene + turn) % 2 == 0 else "bob"
            text = LINES[who][counts[who] % len(LINES[who])]
            counts[who] += 1
            start = 20.0 * scene + 6.0 * turn + 0.5
            seconds = 1.0 + 0.5 * turn
            clip = prepared / "audio" / f"s{scene}t{turn}.flac"
            # A rising level: the counting tokenizer's codes then climb 0, 1, 2, ... (learnable, like speech is).
            sf.write(clip, np.linspace(0.0, 0.15, int(16000 * seconds), dtype=np.float32), 16000)
            reply = {"id": f"ep1-s{scene}-t{turn}", "episode": "ep1", "scene": f"ep1-s{scene}", "turn": turn,
                     "character": who, "start": start, "end": start + seconds, "duration": seconds, "text": text,
                     "audio": str(clip), "context": list(previous)}
            kept.append(reply)
            previous.append({"speaker": who, "text": text,
                             "audio": {"episode": "ep1", "start": start, "end": start + seconds}})
    write_jsonl(prepared / "kept.jsonl", kept)
    write_manifests(kept, {"ep1": str(episode)}, prepared)
    build_token_cache(prepared, CountingTokenizer())
    return prepared, series
