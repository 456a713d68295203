"""The speech LLM: loading GLM-4-Voice (``load``), the demo's SmolLM2 (``smollm2``), LoRA (``lora``) and generation (``generate``)."""
