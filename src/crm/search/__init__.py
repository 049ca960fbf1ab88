"""Global search (issue 7): accounts, contacts, leads, opportunities and cases by name and
other texts, ranked, as the caller's own lists show them."""
