"""Benchmarks behind the thin scripts in scripts/: each prints figures beside a same-run baseline."""
