"""Known main-net chain ids, refused unless explicitly allowed (R55)."""

from __future__ import annotations

KNOWN_MAINNETS: dict[int, str] = {
    1: "Ethereum",
    10: "OP Mainnet",
    56: "BNB Smart Chain",
    100: "Gnosis",
    137: "Polygon PoS",
    250: "Fantom",
    324: "zkSync Era",
    1101: "Polygon zkEVM",
    5000: "Mantle",
    8453: "Base",
    42161: "Arbitrum One",
    42220: "Celo",
    43114: "Avalanche C-Chain",
    59144: "Linea",
    81457: "Blast",
    534352: "Scroll",
}

LOCAL_CHAIN_IDS = frozenset({31337, 1337})


class MainnetRefused(RuntimeError):
    """R55: the sandbox refuses a known main-net unless told `--i-know-this-is-mainnet`."""


def check_chain_allowed(chain_id: int, *, allow_mainnet: bool) -> None:
    if chain_id in KNOWN_MAINNETS and not allow_mainnet:
        raise MainnetRefused(
            f"chain id {chain_id} is {KNOWN_MAINNETS[chain_id]} main-net; this is a sandbox token "
            "(R55). Use a local or test chain, or pass --i-know-this-is-mainnet if you really mean it."
        )


def is_local_chain(chain_id: int) -> bool:
    return chain_id in LOCAL_CHAIN_IDS
