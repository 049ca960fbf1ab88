"""Teams of members (§15)."""
