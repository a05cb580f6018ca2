"""reserves domain."""
