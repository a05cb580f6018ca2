"""API keys: issue, revoke, bootstrap (R42, R43)."""
