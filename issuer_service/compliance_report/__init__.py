"""The compliance report (R13, R23-R25, R40, R55): SLA breaches, travel-rule gaps, screening
cases, freezes, seizures and pending approvals, as JSON and HTML, with the sandbox label."""
