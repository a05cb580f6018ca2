"""Sanctions screening (R20, R23): the list, re-screening on every update, and the cases
compliance clears or confirms."""
