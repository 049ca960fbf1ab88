"""Authentication: passwords, Google, JWT sessions, and who is calling in which org."""
