"""Customers and their due diligence (R20)."""
