"""The chain outbox: every on-chain write is a row committed with the business change it serves,
then signed, broadcast and confirmed by the worker. Nothing is lost or sent twice across crashes."""
