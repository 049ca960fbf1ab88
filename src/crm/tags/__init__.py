"""Tags: per-org labels created on first use (§18)."""
