"""Pure compliance domain for the CNH stablecoin sandbox: money, regime profiles, reserve policy,
mint/redemption rules, business-day calendar and the audit hash chain.

No framework imports (FastAPI, SQLAlchemy, web3, pydantic). Import what you need from the
submodules, e.g. `from compliance.mint_rules import check_mint`; nothing is loaded here.
"""
