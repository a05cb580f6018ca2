"""token domain."""
