"""Idempotency-Key for POST requests (issue 6)."""
