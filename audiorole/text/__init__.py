"""How a dialogue becomes the speech LLM's tokens and back (no Lightning, no model weights).

``vocab``: the chat's special ids (roles, audio markers, audio tokens) read from a tokenizer.
``interleave``: the reply's 13 text : 26 audio token pattern, and the grammar it obeys.
``template``: prompt and training sample (input ids + labels learned only on the reply).
``split``: generated ids back to (text ids, audio codes), never passing a malformed span on.
``collate``: padding or packing samples into a batch.
``dialogues``: a prepared dataset's replies as ``Dialogue`` records, batched by Lhotse samplers.
"""
