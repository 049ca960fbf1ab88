"""Secret API keys (``sk_...``) for programmatic access: /api/api-keys/."""
