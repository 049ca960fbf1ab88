"""Opportunities: the deals pursued with accounts, their stages and forecast (§8)."""
