"""The roles an API key can have (R42): one list, imported by auth, the key table's CHECK and
clients. Dependency-free so a CLI can import it without the service."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["admin", "operator", "compliance", "treasury", "auditor", "customer"]
ROLES: tuple[Role, ...] = get_args(Role)
# Everyone but customers: issued with POST /v1/api-keys. Customer keys are bound to a customer.
STAFF_ROLES: tuple[Role, ...] = tuple(role for role in ROLES if role != "customer")
