"""indexer domain."""
