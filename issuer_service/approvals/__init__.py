"""General maker-checker approvals (R40): policy as data (compliance/data/approval_policy.json),
requests, one vote per principal, and the domain executors run when the last approval arrives."""
