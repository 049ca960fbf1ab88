"""Events (§12)."""
