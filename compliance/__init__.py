"""Pure compliance domain for the CNH stablecoin sandbox: money, regime profiles, reserve policy,
mint/redemption rules, business-day calendar, the audit hash chain, sanctions screening,
the travel rule and the maker-checker approval policy.

No framework imports (FastAPI, SQLAlchemy, web3, pydantic). Import what you need from the
submodules, e.g. `from compliance.mint_rules import check_mint`; nothing is loaded here.
"""
