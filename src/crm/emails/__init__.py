"""Outbound e-mail: account e-mails and assignment notifications, delivered exactly once."""
