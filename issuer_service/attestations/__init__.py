"""Reserve attestation reports (R52, R53) with proof of liabilities (R54): built at a block by an
auditor, stored as canonical JSON with its SHA-256, rendered as HTML and PDF."""
