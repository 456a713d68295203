"""LightningModules: thin adapters over the models in ``audiorole.models``."""
