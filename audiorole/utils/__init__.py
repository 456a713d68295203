"""Small helpers shared by the entry points (no Lightning imports)."""
