"""The embedded Anvil's state file after a stop under load (`AnvilProcess.stop`).

The sandbox chain persists to a state file and the outage tests stop it mid-load. Anvil writes the
file on SIGTERM without waiting for the block it is mining, so a plain SIGTERM under load could
leave account nonces of transactions whose receipts the file lacks: the restarted chain then holds
effects that no receipt or event explains, and a worker would think another transaction took its
nonce. `stop()` switches mining off first; this test stops a busy chain several times and checks
that the restarted one agrees with what the clients saw."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from issuer_service.chain.anvil import AnvilProcess, rpc_call, start_anvil

SENDERS = 3
BATCH = 20
ROUNDS = 5


class Load:
    """Threads that send batches of self-transfers and read their receipts until the node goes away."""

    def __init__(self, anvil: AnvilProcess) -> None:
        self.w3 = Web3(Web3.HTTPProvider(anvil.url))
        self.senders: list[LocalAccount] = [Account.create() for _ in range(SENDERS)]
        for sender in self.senders:
            rpc_call(anvil.url, "anvil_setBalance", [sender.address, hex(10**21)])
        self.sent: dict[str, tuple[str, int]] = {}  # tx hash -> (sender, nonce)
        self.mined: set[str] = set()  # hashes whose receipt a client saw before the stop
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(s,), daemon=True) for s in self.senders]

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, sender: LocalAccount) -> None:
        provider = self.w3.provider
        nonce = 0
        while True:
            batch = [
                sender.sign_transaction(
                    {"to": sender.address, "value": 1, "gas": 21_000, "gasPrice": 10**10, "nonce": n, "chainId": 31337}
                )
                for n in range(nonce, nonce + BATCH)
            ]
            hashes = ["0x" + tx.hash.hex() for tx in batch]
            with self._lock:
                self.sent.update({h: (sender.address, nonce + i) for i, h in enumerate(hashes)})
            try:
                provider.make_batch_request(  # type: ignore[attr-defined]
                    [("eth_sendRawTransaction", ["0x" + tx.raw_transaction.hex()]) for tx in batch]
                )
                receipts = provider.make_batch_request(  # type: ignore[attr-defined]
                    [("eth_getTransactionReceipt", [h]) for h in hashes]
                )
            except (OSError, ConnectionError, ValueError):
                return  # the node stopped
            if not isinstance(receipts, list):
                return
            with self._lock:
                self.mined.update(h for h, r in zip(hashes, receipts, strict=True) if r.get("result"))
            nonce += BATCH


def _receipt(w3: Web3, tx_hash: str) -> object:
    return w3.provider.make_request("eth_getTransactionReceipt", [tx_hash]).get("result")  # type: ignore[arg-type]


def test_stopping_a_busy_state_persisting_anvil_keeps_every_receipt_seen_and_no_nonce_without_its_receipt(
    tmp_path: Path,
) -> None:
    state = tmp_path / "anvil-state.json"
    anvil = start_anvil(state_file=state)
    try:
        for round_ in range(ROUNDS):
            load = Load(anvil).start()
            deadline = time.monotonic() + 10
            while len(load.mined) < 400 and time.monotonic() < deadline:
                time.sleep(0.05)
            anvil.stop()
            load.join()
            assert load.mined, "the load never got a transaction mined; the stop proved nothing"

            anvil = start_anvil(port=anvil.port, state_file=state)
            w3 = Web3(Web3.HTTPProvider(anvil.url))
            lost = sorted(h for h in load.mined if _receipt(w3, h) is None)
            assert not lost, f"round {round_}: {len(lost)} of {len(load.mined)} mined transactions lost on restart"
            nonces = {sender.address: w3.eth.get_transaction_count(sender.address) for sender in load.senders}
            unexplained = sorted(
                h for h, (sender, nonce) in load.sent.items() if nonce < nonces[sender] and _receipt(w3, h) is None
            )
            assert not unexplained, f"round {round_}: nonces used by {len(unexplained)} transactions with no receipt"
            assert rpc_call(anvil.url, "eth_getBlockByNumber", ["latest", False]), "the restarted chain has no head"
    finally:
        anvil.stop()
