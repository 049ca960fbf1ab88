"""Accounts (§4): customer companies, with their contacts, opportunities and activity."""
