"""wallets domain."""
