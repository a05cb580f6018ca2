"""Emergency pause and two-admin resume (R40, R41)."""
