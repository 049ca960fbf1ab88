"""Multi-tenant CRM server."""
