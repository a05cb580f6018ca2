"""Sandbox bank deposits: confirmed fiat credited to a customer (R10)."""
