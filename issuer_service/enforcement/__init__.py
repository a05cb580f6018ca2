"""Freeze and seize (R24): holds on wallets, on-chain freeze/unfreeze kept in sync with
`Wallet.frozen`, and seizures (burn a frozen balance, re-mint to a recovery wallet) under a second
approver and a recorded legal basis."""
