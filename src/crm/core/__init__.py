"""Platform core: configuration, database, tenancy, errors, security. Imports nothing else from crm."""
