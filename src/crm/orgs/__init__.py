"""Organizations: creating one, listing the caller's memberships, the caller's profile."""
