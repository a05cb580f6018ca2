"""Each customer's confirmed fiat at the sandbox bank: available and reserved for mints (R10)."""
