"""Documents (§14)."""
