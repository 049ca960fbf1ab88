"""Lead companies: the prospective companies leads point at (§7)."""
