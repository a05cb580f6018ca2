"""Per-customer limit changes (R12, R40): an approved override of the profile's daily limits."""
