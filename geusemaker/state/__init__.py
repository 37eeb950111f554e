"""The local state store: deployments and their resources (SQLite)."""
