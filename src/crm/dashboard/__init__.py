"""The dashboard (§3): counts and recent records across the sales modules, as the caller sees them."""
