"""The append-only, hash-chained audit log (R50, R51). Services call
`issuer_service.audit.service.append_audit` in the same transaction as their state change."""
