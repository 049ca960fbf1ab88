"""Comments and attachments (§16): one implementation for every record type that has them."""
