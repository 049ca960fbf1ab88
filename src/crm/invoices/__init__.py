"""Invoices (§13)."""
