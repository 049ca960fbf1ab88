"""Website lead-capture keys (§2.7)."""
