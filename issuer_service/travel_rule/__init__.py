"""Travel rule (R25): originator and beneficiary data with every transfer the service initiates
or pays out, records linking on-chain transfers, and the check for transfers without one."""
