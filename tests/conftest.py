"""Test-wide fixtures. Chain fixtures live in tests/chain_fixtures.py."""

pytest_plugins = ["tests.chain_fixtures", "tests.service.chain_app"]
