"""The security audit log: written after each request (crm.core.audit), read by org admins
at /api/audit-log/, pruned after ``CRM_AUDIT_RETENTION_DAYS``."""
