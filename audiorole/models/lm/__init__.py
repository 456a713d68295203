"""The speech LLM: loading GLM-4-Voice (``load``), a tiny demo GLM (``demo_lm``), LoRA (``lora``) and generation (``generate``)."""
