"""ARP-Eval as a benchmark other systems can answer.

``export.py`` writes a dataset's held-out replies as a self-contained folder (context audio
and text, persona, reference reply, ``items.jsonl`` / ``items.parquet``, a README saying
how to answer); ``audiorole.eval.systems.ReplyFolder`` scores the answers.

    python -m audiorole.benchmark export --prepared data/prepared/demo --series audiorole/demo/series --out bench/demo
"""
