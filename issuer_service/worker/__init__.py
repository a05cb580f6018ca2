"""Running the outbox worker and the indexer, in-process or as `python -m issuer_service worker`."""
