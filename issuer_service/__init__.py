"""The CNH stablecoin sandbox issuer service (SANDBOX - NOT A LICENSED STABLECOIN, R55)."""
