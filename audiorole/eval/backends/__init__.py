"""ARP-Eval backends, each chosen by a ``_target_`` in ``conf/eval`` and loading its model on first use.

Interfaces the evaluator relies on:
- speaker embedder: ``name``, ``sample_rate``, ``embed_many(waves) -> (N, D)`` unit rows
  (``audiorole.speakers.ResemblyzerEmbedder`` is the offline default as it is);
- quality: ``name``, ``score_many(waves, sample_rate) -> list[float]`` (NaN: not scorable);
- text embedder: ``name``, ``embed(texts) -> (N, D)`` unit rows;
- transcriber: ``name``, ``transcribe(wave, sr) -> str``, ``transcribe_many(waves, sr)``;
- content scorers (CQ, CP): ``name``, ``score(items, texts) -> list[float]``; CP also
  ``prepare(training_lines, personas)``.
"""
