"""LightningDataModules: thin adapters over ``audiorole.prep`` and ``audiorole.data``."""
