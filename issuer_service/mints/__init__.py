"""mints domain."""
