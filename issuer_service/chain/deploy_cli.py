"""The deploy command: argument parsing, progress display and one-line errors."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from web3 import Web3

from compliance.profiles import DEFAULT_PROFILE, ProfileError, RegimeProfile, UnknownProfileError, load_profile
from issuer_service.chain.anvil import AnvilError, start_anvil
from issuer_service.chain.compiler import CompilationError
from issuer_service.chain.deploy import DeployConfig, DeployError, deploy
from issuer_service.chain.keys import KeyFileError, RoleKeys
from issuer_service.chain.networks import MainnetRefused, check_chain_allowed, is_local_chain

console = Console(stderr=True, soft_wrap=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deploy", description="Deploy the tCNH sandbox token (R55).")
    profile = _profile(parser)
    parser.add_argument("--rpc-url", help="EVM JSON-RPC endpoint; default: spawn a local Anvil")
    parser.add_argument(
        "--keys-file",
        type=Path,
        help='JSON {"keys": {role: private key}} for deployer, admin, minter_admin, pauser, '
        "compliance, attestor, minter; default with a spawned Anvil: generate sandbox keys",
    )
    parser.add_argument("--out", type=Path, default=Path(".sandbox/deployment.json"), help="deployment file to write")
    # R1, R60: by default the token's mint cap follows the profile the service will run under.
    parser.add_argument(
        "--buffer-bps",
        type=_bounded(0, 10_000),
        default=profile.reserve_buffer_bps,
        help=f"reserve buffer in basis points, 0-10000 (R1); default: the {profile.name!r} profile's "
        f"(CNH_REGIME_PROFILE), {profile.reserve_buffer_bps}",
    )
    parser.add_argument(
        "--max-attestation-age",
        type=_bounded(1, 2**32 - 1),
        default=profile.attestation_max_age_seconds,
        help=f"seconds, 1 to 2^32-1 (R1); default: the {profile.name!r} profile's, "
        f"{profile.attestation_max_age_seconds}",
    )
    parser.add_argument("--keep-running", action="store_true", help="keep the spawned Anvil running until Ctrl-C")
    parser.add_argument(
        "--i-know-this-is-mainnet",
        dest="allow_mainnet",
        action="store_true",
        help="allow a known main-net chain id (R55); you almost certainly do not want this",
    )
    parser.add_argument("--json", action="store_true", help="print the deployment JSON on stdout")
    return parser


def _profile(parser: argparse.ArgumentParser) -> RegimeProfile:
    """The regime profile the service reads from CNH_REGIME_PROFILE (R60); a bad one ends in one line."""
    try:
        return load_profile(os.environ.get("CNH_REGIME_PROFILE", DEFAULT_PROFILE))
    except (UnknownProfileError, ProfileError) as exc:
        parser.error(f"CNH_REGIME_PROFILE: {exc}")


def _bounded(low: int, high: int) -> Callable[[str], int]:
    """An integer option the token accepts (its constructor reverts InvalidReservePolicy otherwise),
    refused by argparse in one line before anything is deployed."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low}-{high}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    anvil = None
    try:
        _check_writable(args.out)
        if args.rpc_url:
            w3 = Web3(Web3.HTTPProvider(args.rpc_url, request_kwargs={"timeout": 10}))
            if not w3.is_connected():
                raise DeployError(f"cannot reach an EVM JSON-RPC endpoint at {args.rpc_url}; check --rpc-url")
        else:
            with console.status("starting a local Anvil"):
                state = args.out.parent / "anvil-state.json" if args.keep_running else None
                anvil = start_anvil(state_file=state)
            w3 = Web3(Web3.HTTPProvider(anvil.url))
            console.print(f"[green]✓[/] Anvil at {anvil.url}")
        # R55 first: on a main-net the answer is "not here", not "bring a key file".
        check_chain_allowed(w3.eth.chain_id, allow_mainnet=args.allow_mainnet)
        keys = _keys(args, w3, spawned=anvil is not None)
        config = DeployConfig(
            keys=keys,
            buffer_bps=args.buffer_bps,
            max_attestation_age_s=args.max_attestation_age,
            allow_mainnet=args.allow_mainnet,
        )
        with console.status("deploying") as status:
            deployment = deploy(w3, config, progress=lambda msg: status.update(msg))
        deployment.save(args.out)
        console.print(
            f"[green]✓[/] tCNH at {deployment.token_address} on chain {deployment.chain_id} "
            f"(block {deployment.block_number}); roles verified"
        )
        for role, address in deployment.roles.items():
            console.print(f"    {role:<13} {address}")
        console.print(f"    {'minter':<13} {', '.join(deployment.minters)}")
        console.print(f"[green]✓[/] deployment written to {args.out}")
        if args.json:
            print(deployment.to_json())
        if anvil is not None and args.keep_running:
            console.print(f"Anvil keeps running at {anvil.url}; Ctrl-C to stop")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return 0
    except (DeployError, MainnetRefused, KeyFileError, AnvilError, CompilationError) as exc:
        console.print(f"[red]deploy failed:[/] {exc}")
        return 1
    except (ConnectionError, OSError) as exc:
        console.print(f"[red]deploy failed:[/] chain connection error ({exc.__class__.__name__}); check --rpc-url")
        return 1
    except Exception as exc:  # the CLI promise: one line, no traceback
        if os.environ.get("CNH_DEBUG"):
            raise
        console.print(
            f"[red]deploy failed:[/] {exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            " (set CNH_DEBUG=1 for details)"
        )
        return 1
    finally:
        if anvil is not None:
            anvil.stop()


def _check_writable(out: Path) -> None:
    """Refuse before anything is deployed if the deployment file cannot be written, or exists:
    it may be the only record of a live token's address and keys."""
    if out.exists():
        raise DeployError(f"{out} already exists (an earlier deployment?); move it away or choose another --out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise DeployError(f"cannot create the folder of --out {out} ({reason})") from None
    if not os.access(out.parent, os.W_OK):
        raise DeployError(f"cannot write --out {out}: its folder is not writable")


def _keys(args: argparse.Namespace, w3: Web3, *, spawned: bool) -> RoleKeys:
    if args.keys_file:
        keys = RoleKeys.load(args.keys_file)
        if spawned:  # the Anvil we just started knows nothing of these keys: give them gas money
            keys.fund_on_anvil(w3)
        return keys
    if not spawned and not is_local_chain(w3.eth.chain_id):
        raise KeyFileError("--keys-file is required for a chain the sandbox did not spawn (R43: keys come from a file)")
    key_path = args.out.parent / "keys.json"
    if key_path.exists():  # R43: it may hold the only copy of an earlier token's keys
        raise DeployError(
            f"{key_path} already exists and sandbox keys would replace it; move it away, "
            "pass it with --keys-file, or choose another --out"
        )
    keys = RoleKeys.generate()
    keys.fund_on_anvil(w3)
    keys.save(key_path)
    console.print(f"[yellow]![/] generated SANDBOX keys, saved to {key_path} (mode 600; not for real funds)")
    return keys


if __name__ == "__main__":
    sys.exit(main())
