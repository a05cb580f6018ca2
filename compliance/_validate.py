"""Argument checks shared by the rule contexts: money is int (never bool or float)."""

from __future__ import annotations


def require_int(value: object, name: str) -> int:
    if type(value) is not int:
        raise TypeError(f"{name} must be an int in minor units, got {type(value).__name__}")
    return value


def require_non_negative(value: object, name: str) -> int:
    number = require_int(value, name)
    if number < 0:
        raise ValueError(f"{name} must not be negative, got {number}")
    return number


def require_positive(value: object, name: str) -> int:
    number = require_int(value, name)
    if number <= 0:
        raise ValueError(f"{name} must be greater than zero, got {number}")
    return number


def require_bool(value: object, name: str) -> bool:
    if type(value) is not bool:
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value
