"""Proof of liabilities (R54): the Merkle sum tree, its inclusion proofs and the standalone verifier.

Every holder's proof verifies against the root, and any change to the proof, the balance or the
root the holder compares with makes verification fail, with a reason naming what is wrong.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance import verify_proof as verifier
from compliance.proof_of_liabilities import (
    MAX_UINT256,
    PathStep,
    ProofOfLiabilitiesError,
    address_bytes,
    build_tree,
    empty_hash,
    root_from_path,
    tree_depth,
)
from compliance.verify_proof import verify_proof

TOKEN = "0x" + "ab" * 20
CHAIN_ID = 31337
BLOCK = 1_234


def _address(i: int) -> str:
    return f"0x{i:040x}"


def _balances(count: int) -> dict[str, int]:
    return {_address(i + 1): 1_000_000 * (i % 9 + 1) + i for i in range(count)}


def _tree(balances: dict[str, int]) -> Any:
    return build_tree(balances, chain_id=CHAIN_ID, token=TOKEN, block=BLOCK)


def _proof(balances: dict[str, int], address: str) -> dict[str, Any]:
    return _tree(balances).proof(address).to_json()


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 33])
def test_every_holders_proof_verifies_against_the_root_and_the_root_total_is_the_sum(count: int) -> None:
    balances = _balances(count)
    tree = _tree(balances)
    assert tree.total_units == sum(balances.values())
    assert tree.leaf_count == count
    for address, balance in balances.items():
        result = verify_proof(
            tree.proof(address).to_json(), published_root=tree.root_hash, published_total_units=tree.total_units
        )
        assert result.ok, result
        assert (result.address, result.balance_units) == (address, balance)
        assert len(tree.proof(address).path) == tree_depth(count)


def test_the_root_does_not_depend_on_input_order_or_address_case() -> None:
    balances = _balances(7)
    shuffled = dict(reversed(list(balances.items())))
    upper = {"0x" + address[2:].upper(): units for address, units in balances.items()}
    assert _tree(balances).root_hash == _tree(shuffled).root_hash == _tree(upper).root_hash


def test_the_root_commits_to_token_chain_and_block() -> None:
    balances = _balances(4)
    roots = {
        _tree(balances).root_hash,
        build_tree(balances, chain_id=CHAIN_ID, token=TOKEN, block=BLOCK + 1).root_hash,
        build_tree(balances, chain_id=1, token=TOKEN, block=BLOCK).root_hash,
        build_tree(balances, chain_id=CHAIN_ID, token="0x" + "cd" * 20, block=BLOCK).root_hash,
    }
    assert len(roots) == 4


def test_an_empty_tree_has_a_zero_total_and_the_empty_root() -> None:
    tree = _tree({})
    assert (tree.total_units, tree.leaf_count) == (0, 0)
    assert tree.root_hash == empty_hash(tree.context).hex()
    with pytest.raises(KeyError):
        tree.proof(_address(1))


@pytest.mark.parametrize(
    ("balances", "message"),
    [
        ({_address(1): 0}, "positive"),
        ({_address(1): -5}, "positive"),
        ({"0x" + "ab" * 20: 1, "0x" + "AB" * 20: 2}, "twice"),
        ({"0x1234": 5}, "not an EVM address"),
        ({_address(1): 2**255, _address(2): 2**255}, "more than 2\\*\\*256"),
    ],
)
def test_balances_that_cannot_be_liabilities_are_refused(balances: dict[str, int], message: str) -> None:
    with pytest.raises(ProofOfLiabilitiesError, match=message):
        _tree(balances)


# ------------------------------------------------------------------------------------ tampering
def _tampered(change: str) -> dict[str, Any]:
    balances = _balances(5)
    proof = _proof(balances, _address(3))
    tampered = copy.deepcopy(proof)
    if change == "balance":
        tampered["balance_units"] = str(int(proof["balance_units"]) + 1)
    elif change == "address":
        tampered["address"] = _address(4)
    elif change == "path hash":
        step_hash = tampered["path"][0]["hash"]
        tampered["path"][0]["hash"] = ("0" if step_hash[0] != "0" else "1") + step_hash[1:]
    elif change == "path sum":  # move value from a sibling to hide part of the liabilities
        tampered["path"][1]["sum_units"] = str(int(proof["path"][1]["sum_units"]) - 1)
    elif change == "index":
        tampered["leaf_index"] = proof["leaf_index"] ^ 1
    elif change == "total":
        tampered["total_units"] = str(int(proof["total_units"]) - 1)
    elif change == "root":
        tampered["root_hash"] = "ff" * 32
    elif change == "block":
        tampered["block"] = BLOCK + 1
    return tampered


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("balance", verifier.ROOT_MISMATCH),
        ("address", verifier.ROOT_MISMATCH),
        ("path hash", verifier.ROOT_MISMATCH),
        ("path sum", verifier.ROOT_MISMATCH),
        ("index", verifier.ROOT_MISMATCH),
        ("total", verifier.TOTAL_MISMATCH),
        ("root", verifier.ROOT_MISMATCH),
        ("block", verifier.ROOT_MISMATCH),
    ],
)
def test_a_tampered_proof_fails_verification_with_the_reason(change: str, reason: str) -> None:
    result = verify_proof(_tampered(change))
    assert not result.ok
    assert result.reason == reason, result


def test_a_genuine_proof_against_another_published_root_or_total_fails() -> None:
    balances = _balances(5)
    proof = _proof(balances, _address(2))
    other_root = _tree({**balances, _address(99): 1}).root_hash
    assert verify_proof(proof, published_root=other_root).reason == verifier.NOT_PUBLISHED_ROOT
    assert verify_proof(proof, published_total_units=1).reason == verifier.NOT_PUBLISHED_TOTAL
    assert verify_proof(proof, published_root="0x" + proof["root_hash"].upper()).ok


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.update(format="something else"),
        lambda p: p.update(balance_units=1_000_000),  # a JSON number: amounts travel as strings
        lambda p: p.update(balance_units="1e6"),
        lambda p: p.update(balance_units="0"),
        lambda p: p.update(leaf_index=99),
        lambda p: p.update(leaf_count=True),
        lambda p: p["path"].pop(),
        lambda p: p.update(path="not a list"),
        lambda p: p.update(address="0x12"),
        lambda p: p["path"][0].update(hash="zz" * 32),
    ],
)
def test_a_malformed_proof_is_rejected_as_malformed(mutate: Any) -> None:
    proof = _proof(_balances(5), _address(5))
    mutate(proof)
    result = verify_proof(proof)
    assert (result.ok, result.reason) == (False, verifier.MALFORMED)


def test_the_padding_sibling_of_an_odd_level_cannot_carry_value() -> None:
    balances = _balances(5)  # leaf 4 is alone on level 0: its sibling is the empty padding node
    proof = _proof(balances, sorted(balances)[4])
    proof["path"][0]["sum_units"] = "7"
    result = verify_proof(proof)
    assert (result.ok, result.reason) == (False, verifier.MALFORMED)
    assert "padding" in str(result.detail)


def _overflowing_proof() -> dict[str, Any]:
    """A proof whose first sibling claims 2**256 - 1 units: the running total cannot be a uint256."""
    proof = _proof(_balances(5), _address(1))  # leaf 0: three levels, a real sibling at each
    proof["path"][0]["sum_units"] = str(MAX_UINT256)
    return proof


def test_a_path_sum_that_overflows_uint256_fails_naming_the_step_instead_of_crashing() -> None:
    result = verify_proof(_overflowing_proof())
    assert (result.ok, result.reason) == (False, verifier.MALFORMED)
    assert "path[0].sum_units" in str(result.detail) and "overflows" in str(result.detail)
    tree = _tree(_balances(5))
    with pytest.raises(ProofOfLiabilitiesError, match=r"path\[0\]\.sum_units"):  # the library, not OverflowError
        root_from_path(tree.context, address_bytes(_address(1)), 1, 0, [PathStep(b"\0" * 32, MAX_UINT256)] * 2)


def test_a_changed_leaf_count_fails_against_the_holder_count_the_report_published() -> None:
    balances = _balances(5)
    proof = _proof(balances, _address(1))
    assert verify_proof(proof, published_leaf_count=5).ok
    proof["leaf_count"] = 7  # same depth: the path alone cannot show it (the tree format does not bind it)
    assert verify_proof(proof).ok
    result = verify_proof(proof, published_leaf_count=5)
    assert (result.ok, result.reason) == (False, verifier.NOT_PUBLISHED_LEAF_COUNT)
    assert "7" in str(result.detail) and "5 holders" in str(result.detail)


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.integers(min_value=1, max_value=2**160 - 1),
        st.integers(min_value=1, max_value=10**15),
        min_size=1,
        max_size=40,
    )
)
def test_any_set_of_balances_gives_verifying_proofs_that_sum_to_the_total(raw: dict[int, int]) -> None:
    balances = {_address(key): value for key, value in raw.items()}
    tree = _tree(balances)
    assert tree.total_units == sum(balances.values())
    for address in balances:
        assert verify_proof(tree.proof(address).to_json(), published_root=tree.root_hash).ok


# ------------------------------------------------------------------------------------ the command line
def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_cli_accepts_a_genuine_proof_against_the_published_root(tmp_path: Path, capsys: Any) -> None:
    balances = _balances(3)
    tree = _tree(balances)
    proof = _write(tmp_path / "proof.json", tree.proof(_address(1)).to_json())
    assert verifier.main([str(proof), "--root", tree.root_hash, "--total", str(tree.total_units)]) == 0
    assert capsys.readouterr().out.startswith(f"OK: {_address(1)} holds")


def test_cli_reads_the_root_from_a_report_and_fails_loudly_on_a_tampered_balance(tmp_path: Path, capsys: Any) -> None:
    balances = _balances(3)
    tree = _tree(balances)
    report = _write(
        tmp_path / "report.json",
        {"proof_of_liabilities": {"root_hash": tree.root_hash, "total_units": str(tree.total_units)}},
    )
    tampered = tree.proof(_address(2)).to_json()
    tampered["balance_units"] = str(int(str(tampered["balance_units"])) * 2)
    proof = _write(tmp_path / "proof.json", tampered)
    assert verifier.main([str(proof), "--report", str(report)]) == 1
    assert capsys.readouterr().out.startswith("FAIL (root mismatch)")


def test_cli_fails_an_overflowing_path_sum_with_exit_1_and_no_traceback(tmp_path: Path, capsys: Any) -> None:
    proof = _write(tmp_path / "proof.json", _overflowing_proof())
    assert verifier.main([str(proof), "--root", _tree(_balances(5)).root_hash]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL (malformed proof): path[0].sum_units") and "Traceback" not in out


def test_cli_with_a_report_fails_a_proof_whose_leaf_count_differs_from_the_holders(tmp_path: Path, capsys: Any) -> None:
    tree = _tree(_balances(5))
    section = {"root_hash": tree.root_hash, "total_units": str(tree.total_units), "holders": tree.leaf_count}
    report = _write(tmp_path / "report.json", {"proof_of_liabilities": section})
    proof = tree.proof(_address(1)).to_json()
    assert verifier.main([str(_write(tmp_path / "proof.json", proof)), "--report", str(report)]) == 0
    proof["leaf_count"] = 6
    assert verifier.main([str(_write(tmp_path / "proof.json", proof)), "--report", str(report)]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("FAIL (not the published holder count)")


def test_cli_exits_2_when_the_proof_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "proof.json").write_text("{not json", encoding="utf-8")
    root = _tree(_balances(3)).root_hash
    assert verifier.main([str(tmp_path / "proof.json"), "--root", root]) == 2
    assert verifier.main([str(tmp_path / "missing.json"), "--root", root]) == 2


def test_cli_refuses_a_forged_tree_when_no_published_root_is_given(tmp_path: Path, capsys: Any) -> None:
    # R54: a made-up tree's proof is consistent with itself; only the published root can reject it.
    forged_tree = _tree({_address(1): 10**30, _address(2): 1})
    forged = _write(tmp_path / "forged.json", forged_tree.proof(_address(1)).to_json())
    assert verifier.main([str(forged)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "no published root" in err and "--report" in err and "--root" in err and "report.json" in err
    assert verifier.main([str(forged), "--total", str(forged_tree.total_units)]) == 2  # a total is not a root
    published = _tree(_balances(3)).root_hash
    assert verifier.main([str(forged), "--root", published]) == 1
    assert "FAIL (not the published root)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--root", "zz"], "--root must be the 64 hex digits"),
        (["--root", "ab" * 31], "--root must be the 64 hex digits"),
        (["--total", "-5"], "--total must be the published total_units"),
        (["--total", "1_000"], "--total must be the published total_units"),
    ],
    ids=["root-not-hex", "root-too-short", "total-negative", "total-underscored"],
)
def test_cli_refuses_a_malformed_published_root_or_total_as_a_usage_error_not_a_rejection(
    tmp_path: Path, capsys: Any, args: list[str], says: str
) -> None:
    """A typo in what the holder typed is not a verdict on the issuer's proof: exit 2, as `cnh verify-proof`."""
    tree = _tree(_balances(3))
    proof = _write(tmp_path / "proof.json", tree.proof(_address(1)).to_json())
    if "--root" not in args:
        args = ["--root", tree.root_hash, *args]
    assert verifier.main([str(proof), *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and says in err, (out, err)
