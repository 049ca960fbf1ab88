"""Leads (§6): prospects, their open/closed lists, conversion into an account, a contact and
an opportunity, and capture from websites with an API-settings key."""
