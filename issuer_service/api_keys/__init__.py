"""API keys: issue, change a staff role with a second admin's approval, revoke, bootstrap (R40, R42, R43)."""
