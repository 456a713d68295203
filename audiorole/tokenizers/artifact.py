"""Load a tokenizer folder this project wrote, whichever kind it is (its config.json says).

Prepared datasets keep a copy of the tokenizer their token cache came from
(``<prepared>/tokenizer/offline``), and the command-line tools (``audiorole.reply``,
``audiorole.speak``) take such a folder: the supervised tokenizer (the default, shipped) or a
k-means one fitted with ``tokenizer=offline_fit``.
"""

from __future__ import annotations

import json
from pathlib import Path

from audiorole.tokenizers.base import SpeechTokenizer, TokenizerError


def load_tokenizer_dir(directory: str | Path, *, threads: int = 0) -> SpeechTokenizer:
    from audiorole.tokenizers.offline import OfflineTokenizer
    from audiorole.tokenizers.supervised import SupervisedTokenizer

    directory = Path(directory)
    try:
        name = json.loads((directory / "config.json").read_text()).get("name")
    except (OSError, ValueError) as e:
        raise TokenizerError(f"{directory}: not a tokenizer folder ({e}); pass a prepared dataset's tokenizer/offline "
                             "folder, or audiorole/tokenizers/offline_vq") from e
    kinds = {cls.name: cls for cls in (SupervisedTokenizer, OfflineTokenizer)}
    if name not in kinds:
        raise TokenizerError(f"{directory}: tokenizer kind {name!r} is not one of {sorted(kinds)}")
    return kinds[name].load(directory, threads=threads)
