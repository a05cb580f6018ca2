"""The public transparency page (R52, R55): supply, reserves, composition and the latest attestation."""
