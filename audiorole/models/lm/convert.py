"""Convert a ChatGLM-layout checkpoint (GLM-4-Voice-9B) once and save it as a plain transformers checkpoint.

    python -m audiorole.models.lm.convert SRC OUT [--dtype bfloat16]

``SRC`` is a local checkpoint dir or a hub id; ``OUT`` gets a standard
transformers checkpoint (``config.json``, safetensors, ``tokenizer.json``) that
``GlmForCausalLM.from_pretrained`` / ``load_glm4voice`` read with no remote code
(the conversion itself: ``audiorole.models.lm.chatglm_to_glm``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from audiorole.errors import AudioroleError
from audiorole.models.lm.load import load_glm4voice


def save_converted(src: str | Path, out: str | Path, dtype=None) -> Path:
    """Convert ``src`` (dir or hub id) and write model + tokenizer to ``out`` with ``save_pretrained``."""
    model, tokenizer = load_glm4voice(src, dtype=dtype)
    out = Path(out)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", help="ChatGLM-layout checkpoint dir or hub id (e.g. THUDM/glm-4-voice-9b)")
    ap.add_argument("out", help="directory for the converted transformers checkpoint")
    ap.add_argument("--dtype", default=None, help="float32, bfloat16 or float16 (default: the checkpoint's)")
    args = ap.parse_args(argv)
    try:
        out = save_converted(args.src, args.out, dtype=args.dtype)
    except AudioroleError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
