"""Contacts: the people the org deals with (§5)."""
