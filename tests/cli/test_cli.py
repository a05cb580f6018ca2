"""The `cnh` command line: what each command prints, its exit codes, and one-line errors.

API commands run against the in-process service (the CLI's `make_client` is pointed at it);
attestation polling runs against a scripted server."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from typer.testing import CliRunner

import cnh_sdk._sync_client
from cnh_sdk import Client, Unauthorized
from compliance.proof_of_liabilities import MAX_UINT256, build_tree
from issuer_service import cli
from issuer_service.chain.anvil import free_port
from issuer_service.chain.permit import PermitSignature, recover_permit_signer
from tests.sdk.flow import add_buffer_capital, onboard, staff_clients
from tests.service.service_helpers import ADMIN_KEY

runner = CliRunner()


def cnh(*args: str) -> Any:
    return runner.invoke(cli.app, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CNH_API_URL", "CNH_API_KEY", "CNH_ADMIN_API_KEY", "CNH_WALLET_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def on_service(app_client: Any, monkeypatch: pytest.MonkeyPatch) -> Client:
    """Point every CLI command at the in-process service; returns an admin SDK client on it."""

    def make_client(api_url: str, api_key: str | None, *, rpc_url: str | None = None) -> Client:
        return Client(api_key=api_key, http=app_client, rpc_url=rpc_url)

    monkeypatch.setattr(cli, "make_client", make_client)
    return Client(api_key=ADMIN_KEY, http=app_client)


def one_line_error(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_help_lists_every_command_and_the_console_script_points_at_the_app() -> None:
    result = cnh("--help")
    assert result.exit_code == 0
    for command in ("demo", "deploy", "serve", "worker", "keys", "attest", "audit", "verify-proof", "sign"):
        assert command in result.stdout
    (script,) = entry_points(group="console_scripts", name="cnh")
    assert script.value == "issuer_service.cli:app"


@pytest.mark.chain
def test_keys_create_prints_a_key_that_works_and_json_for_scripts(on_service: Client, app_client: Any) -> None:
    human = cnh("keys", "create", "--role", "auditor", "--admin-key", ADMIN_KEY)
    assert human.exit_code == 0, human.stderr
    auditor_key = human.stdout.strip().splitlines()[-1]
    assert Client(api_key=auditor_key, http=app_client).verify_audit_log().ok
    assert "shown only now" in human.stderr

    scripted = cnh("keys", "create", "--role", "operator", "--label", "ops desk", "--admin-key", ADMIN_KEY, "--json")
    assert scripted.exit_code == 0, scripted.stderr
    created = json.loads(scripted.stdout)
    assert (created["role"], created["label"]) == ("operator", "ops desk")
    operator = Client(api_key=created["key"], http=app_client)
    customer = operator.create_customer("Lotus Trading Ltd", "institution", "HK")

    for_customer = cnh(
        "keys", "create", "--role", "customer", "--customer", customer.id, "--admin-key", ADMIN_KEY, "--json"
    )
    assert json.loads(for_customer.stdout)["customer_id"] == customer.id


@pytest.mark.chain
def test_keys_revoke_makes_the_key_answer_401(on_service: Client, app_client: Any) -> None:
    created = on_service.create_api_key("operator", "to revoke")
    result = cnh("keys", "revoke", created.id, "--admin-key", ADMIN_KEY, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["revoked_at"] is not None
    with pytest.raises(Unauthorized):
        Client(api_key=created.key, http=app_client).list_customers()


@pytest.mark.chain
def test_a_refusal_by_the_api_is_one_line_with_the_problem_and_exit_3(on_service: Client) -> None:
    result = cnh("keys", "create", "--role", "operator", "--admin-key", "cnh_not-a-key")
    assert result.exit_code == cli.EXIT_REFUSED
    line = one_line_error(result)
    assert "401" in line and "unknown or has been revoked" in line and "request_id req_" in line


def test_keys_revoke_given_a_secret_not_an_id_says_so_and_never_sends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # A leaked secret is what an admin has in hand; it used to go out in the URL and come back as a 404.
    sent: list[httpx.Request] = []

    def service(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(404, json={"status": 404, "title": "Not found", "detail": "API key not found"})

    transport = httpx.MockTransport(service)
    monkeypatch.setattr(cli, "make_client", lambda api_url, api_key, **_: Client(api_url, api_key, transport=transport))
    leaked = "cnh_" + "aRb_iwGrb4VsrrgFN2Cw4sVHIpkFbrkzhUSy0VDfBYc"
    result = cnh("keys", "revoke", leaked, "--admin-key", "k")
    assert result.exit_code == cli.EXIT_USAGE and sent == []
    line = one_line_error(result)
    assert "key_" in line and "audit log" in line and leaked not in result.output


def test_a_negative_block_or_wait_for_attest_is_bad_usage_and_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cnh attest --block -1` reached the service and came back as exit 3, "the API refused", as if
    the auditor had asked for something the service would not do, instead of a typo in the command."""
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(500))  # type: ignore[func-returns-value]
    monkeypatch.setattr(cli, "make_client", lambda api_url, api_key, **_: Client(api_url, api_key, transport=transport))
    for option in (["--block", "-1"], ["--wait", "-5"]):
        result = runner.invoke(cli.app, ["attest", *option, "--api-key", "k"])
        assert result.exit_code == cli.EXIT_USAGE, result.output
        assert option[0] in result.output
    assert sent == []


def test_missing_admin_key_and_bad_role_are_usage_errors() -> None:
    missing = cnh("keys", "create", "--role", "operator")
    assert missing.exit_code == cli.EXIT_USAGE
    assert "--admin-key" in one_line_error(missing) and "CNH_ADMIN_API_KEY" in missing.stderr
    bad_role = cnh("keys", "create", "--role", "wizard", "--admin-key", "k")
    assert bad_role.exit_code == cli.EXIT_USAGE and "wizard" in one_line_error(bad_role)


def test_an_unreachable_service_is_one_line_and_exit_4(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cnh_sdk._sync_client, "sleep", lambda _: None)  # keep the retries, skip the waits
    url = f"http://127.0.0.1:{free_port()}"
    result = cnh("keys", "create", "--role", "operator", "--admin-key", "k", "--api-url", url)
    assert result.exit_code == cli.EXIT_UNREACHABLE
    assert f"cannot reach the issuer service at {url}" in one_line_error(result)


@pytest.mark.parametrize("url", ["http://127.0.0.1:80OO", "http://[::1"])
def test_a_malformed_api_url_is_a_one_line_usage_error_naming_it(url: str) -> None:
    result = cnh("keys", "revoke", "key_1", "--admin-key", "k", "--api-url", url)
    assert result.exit_code == cli.EXIT_USAGE
    line = one_line_error(result)
    assert "--api-url" in line and url in line


def test_an_api_key_with_a_stray_character_is_a_one_line_usage_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = cnh("keys", "revoke", "key_1", "--admin-key", "cnh_abc\u2019", "--api-url", url)
    assert result.exit_code == cli.EXIT_USAGE
    assert "API key" in one_line_error(result)


@pytest.mark.chain
def test_audit_export_then_offline_verify_and_a_tampered_export_fails(on_service: Client, tmp_path: Path) -> None:
    auditor_key = on_service.create_api_key("auditor", "cli auditor").key
    on_service.create_api_key("operator", "another audited action")

    online = cnh("audit", "verify", "--api-key", auditor_key, "--json")
    assert online.exit_code == 0, online.stderr
    assert json.loads(online.stdout)["ok"] is True

    export = tmp_path / "audit.jsonl"
    exported = cnh("audit", "export", "--out", str(export), "--api-key", auditor_key)
    assert exported.exit_code == 0, exported.stderr
    lines = export.read_text().splitlines()
    assert len(lines) >= 3 and f"{len(lines)} audit records written" in exported.stderr
    head = json.loads(lines[-1])["hash"]
    assert f"--head {head}" in exported.stdout  # the export prints the head to check against
    again = cnh("audit", "export", "--out", str(tmp_path / "again.jsonl"), "--api-key", auditor_key, "--json")
    summary = json.loads(again.stdout)  # for scripts: the file, the count and the head
    assert (summary["file"], summary["head_hash"] is not None) == (str(tmp_path / "again.jsonl"), True)
    assert summary["records"] >= len(lines)

    intact = cnh("audit", "verify", "--file", str(export), "--head", head)
    assert intact.exit_code == 0 and "audit chain intact" in intact.stderr
    shortened = tmp_path / "shortened.jsonl"
    shortened.write_text("\n".join(lines[:-1]) + "\n")
    cut = cnh("audit", "verify", "--file", str(shortened), "--head", head, "--json")
    assert cut.exit_code == cli.EXIT_FAILED and json.loads(cut.stdout)["reason"] == "head mismatch"

    record = json.loads(lines[1])
    record["data"]["label"] = "rewritten after the fact"
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join([lines[0], json.dumps(record), *lines[2:]]) + "\n")
    broken = cnh("audit", "verify", "--file", str(tampered), "--head", head, "--json")
    assert broken.exit_code == cli.EXIT_FAILED
    report = json.loads(broken.stdout)
    assert (report["ok"], report["first_bad_seq"], report["entries"]) == (False, 2, 1)


def test_audit_verify_file_refuses_a_missing_file_and_a_line_that_is_not_json(tmp_path: Path) -> None:
    missing = cnh("audit", "verify", "--file", str(tmp_path / "nope.jsonl"), "--no-head")
    assert missing.exit_code == cli.EXIT_USAGE and "cnh audit export" in one_line_error(missing)
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_text("{not json\n")
    result = cnh("audit", "verify", "--file", str(garbled), "--no-head")
    assert result.exit_code == cli.EXIT_FAILED and "not valid JSON" in result.stderr
    bad_anchor = cnh("audit", "verify", "--file", str(garbled), "--anchor", "12")
    assert bad_anchor.exit_code == cli.EXIT_USAGE and "SEQ:HASH" in one_line_error(bad_anchor)
    for head in ("zz", "g" * 64, "ab" * 33):
        bad_head = cnh("audit", "verify", "--file", str(garbled), "--head", head)
        assert bad_head.exit_code == cli.EXIT_USAGE and "64 hex digits" in one_line_error(bad_head)


def test_audit_verify_file_refuses_a_line_with_a_duplicated_key(tmp_path: Path) -> None:
    from compliance.audit_chain import GENESIS_HASH, make_record

    record = make_record(
        GENESIS_HASH,
        1,
        at="2026-01-01T00:00:00.000000Z",
        actor="key_1",
        action="mint.confirmed",
        entity_type="mint",
        entity_id="mnt_1",
        data={"amount_fen": 100},
        rule_ids=["R10"],
        request_id=None,
    )
    export = tmp_path / "export.jsonl"
    export.write_text('{"action":"mint.rejected",' + json.dumps(record)[1:] + "\n")  # json.loads keeps the last
    result = cnh("audit", "verify", "--file", str(export), "--head", record["hash"], "--json")
    assert result.exit_code == cli.EXIT_FAILED
    verdict = json.loads(result.stdout)
    assert (verdict["ok"], verdict["first_bad_seq"], verdict["reason"]) == (False, 1, "malformed record")
    assert verdict["detail"].startswith("line 1: line has a duplicated key 'action'")


def _chain(count: int) -> list[dict[str, Any]]:
    from compliance.audit_chain import GENESIS_HASH, make_record

    records, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        record = make_record(
            prev,
            seq,
            at=f"2026-01-01T00:00:0{seq}.000000Z",
            actor="key_1",
            action="mint.confirmed",
            entity_type="mint",
            entity_id=f"mnt_{seq}",
            data={"amount_fen": 100 * seq},
            rule_ids=["R10"],
            request_id=None,
        )
        records.append(record)
        prev = str(record["hash"])
    return records


def test_audit_verify_file_without_a_trusted_head_is_refused_since_a_cut_tail_would_pass(tmp_path: Path) -> None:
    # R50: the export with its last record deleted used to report "intact", exit 0.
    records = _chain(3)
    shortened = tmp_path / "export.jsonl"
    shortened.write_text("".join(json.dumps(r) + "\n" for r in records[:-1]))
    refused = cnh("audit", "verify", "--file", str(shortened))
    assert refused.exit_code == cli.EXIT_USAGE
    line = one_line_error(refused)
    assert "no trusted head" in line and "--head" in line and "--anchor" in line
    assert "GET /v1/audit-log/verify" in line and "--no-head" in line
    caught = cnh("audit", "verify", "--file", str(shortened), "--head", records[-1]["hash"])
    assert caught.exit_code == cli.EXIT_FAILED and "expected the published" in caught.stderr
    anchored = cnh("audit", "verify", "--file", str(shortened), "--anchor", f"3:{records[-1]['hash']}")
    assert anchored.exit_code == cli.EXIT_FAILED and "not in the file" in anchored.stderr
    both = cnh("audit", "verify", "--file", str(shortened), "--no-head", "--head", records[-1]["hash"])
    assert both.exit_code == cli.EXIT_USAGE and "--no-head" in one_line_error(both)


def test_audit_verify_file_with_no_head_passes_but_warns_loudly_that_truncation_goes_unseen(tmp_path: Path) -> None:
    records = _chain(3)
    shortened = tmp_path / "export.jsonl"
    shortened.write_text("".join(json.dumps(r) + "\n" for r in records[:-1]))
    unchecked = cnh("audit", "verify", "--file", str(shortened), "--no-head")
    assert unchecked.exit_code == 0
    last = unchecked.stderr.strip().splitlines()[-1]
    assert "audit chain intact: 2 records" in unchecked.stderr
    assert last.startswith("WARNING:") and "would NOT be detected" in last


def test_audit_verify_refuses_an_empty_export_without_a_head(tmp_path: Path) -> None:
    empty = tmp_path / "export.jsonl"
    empty.write_text("")
    refused = cnh("audit", "verify", "--file", str(empty))
    assert refused.exit_code == cli.EXIT_USAGE and "no trusted head" in one_line_error(refused)
    unchecked = cnh("audit", "verify", "--file", str(empty), "--no-head")
    assert unchecked.exit_code == cli.EXIT_FAILED
    assert "the file has no records" in one_line_error(unchecked)


@pytest.mark.chain
def test_attest_then_a_holder_proof_verifies_against_the_saved_report(on_service: Client, tmp_path: Path) -> None:
    staff = staff_clients(on_service)
    add_buffer_capital(staff)
    lotus = onboard(on_service, staff, deposit="100.00")
    mint = lotus.client.wait_for_mint(lotus.client.create_mint(lotus.wallet.address, "100.00").id)
    assert mint.status == "confirmed"
    auditor_key = staff.auditor.api_key or ""

    report_file = tmp_path / "report.json"
    attested = cnh(
        "attest", "--block", str(mint.block_number), "--out", str(report_file), "--api-key", auditor_key, "--json"
    )
    assert attested.exit_code == 0, attested.stderr
    summary = json.loads(attested.stdout)
    assert (summary["as_of_block"], summary["result"], summary["holders"]) == (mint.block_number, "pass", 1)
    assert hashlib.sha256(report_file.read_bytes()).hexdigest() == summary["sha256"]

    proof = staff.auditor.liability_proof(summary["id"], lotus.wallet.address)
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(json.dumps(proof))
    included = cnh("verify-proof", str(proof_file), "--report", str(report_file))
    assert included.exit_code == 0, included.stderr
    assert "100.000000 tCNH" in included.stderr

    proof["balance_units"] = str(int(proof["balance_units"]) * 2)  # claim twice the balance
    proof_file.write_text(json.dumps(proof))
    forged = cnh("verify-proof", str(proof_file), "--report", str(report_file), "--json")
    assert forged.exit_code == cli.EXIT_FAILED
    assert json.loads(forged.stdout)["reason"] == "root mismatch"


def _holders_tree() -> Any:
    balances = {f"0x{i:040x}": 1_000_000 * i for i in range(1, 6)}
    return build_tree(balances, chain_id=31337, token="0x" + "ab" * 20, block=7)


def test_verify_proof_refuses_unreadable_input_as_usage_errors(tmp_path: Path) -> None:
    root = _holders_tree().root_hash
    missing = cnh("verify-proof", str(tmp_path / "absent.json"), "--root", root)
    assert missing.exit_code == cli.EXIT_USAGE and "absent.json" in one_line_error(missing)
    garbled = tmp_path / "garbled.json"
    garbled.write_text("{")
    assert cnh("verify-proof", str(garbled), "--root", root).exit_code == cli.EXIT_USAGE
    malformed = tmp_path / "malformed.json"
    malformed.write_text("{}")
    result = cnh("verify-proof", str(malformed), "--root", root)
    assert result.exit_code == cli.EXIT_FAILED and "malformed proof" in result.stderr


def test_verify_proof_refuses_a_forged_tree_when_no_published_root_is_given(tmp_path: Path) -> None:
    # R54: a made-up tree's proof is consistent with itself; it used to pass with only a note.
    forged_tree = build_tree({f"0x{1:040x}": 10**30}, chain_id=31337, token="0x" + "ab" * 20, block=7)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(forged_tree.proof(f"0x{1:040x}").to_json()))
    refused = cnh("verify-proof", str(forged))
    assert refused.exit_code == cli.EXIT_USAGE and refused.stdout == ""
    line = one_line_error(refused)
    assert "no published root" in line and "--report report.json" in line and "--root" in line
    assert "cnh attest --out" in line
    total_only = cnh("verify-proof", str(forged), "--total", str(forged_tree.total_units))
    assert total_only.exit_code == cli.EXIT_USAGE and "no published root" in one_line_error(total_only)
    against_published = cnh("verify-proof", str(forged), "--root", _holders_tree().root_hash, "--json")
    assert against_published.exit_code == cli.EXIT_FAILED
    assert json.loads(against_published.stdout)["reason"] == "not the published root"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--total", "15.000000"),  # the report's `total` (tCNH), not `total_units`: used to be read as 15 units
        ("--total", "15,000,000"),
        ("--total", "-15000000"),
        ("--root", "zz"),
        ("--root", "ab" * 31),
    ],
)
def test_verify_proof_refuses_a_malformed_published_root_or_total_as_a_usage_error_not_a_rejection(
    tmp_path: Path, option: str, value: str
) -> None:
    tree = _holders_tree()
    (tmp_path / "proof.json").write_text(json.dumps(tree.proof(f"0x{1:040x}").to_json()))
    published = {"--root": tree.root_hash, "--total": str(tree.total_units), option: value}
    args = [arg for name, given in published.items() for arg in (name, given)]
    result = cnh("verify-proof", str(tmp_path / "proof.json"), *args)
    assert result.exit_code == cli.EXIT_USAGE, result.output
    assert option in one_line_error(result) and "proof rejected" not in result.output


def test_verify_proof_fails_an_overflowing_path_sum_naming_it_without_a_traceback(tmp_path: Path) -> None:
    proof: Any = _holders_tree().proof(f"0x{1:040x}").to_json()
    proof["path"][0]["sum_units"] = str(MAX_UINT256)
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    result = cnh("verify-proof", str(tmp_path / "proof.json"), "--root", _holders_tree().root_hash)
    assert result.exit_code == cli.EXIT_FAILED
    assert "malformed proof" in result.stderr and "path[0].sum_units" in result.stderr


def test_verify_proof_with_a_report_fails_a_leaf_count_other_than_the_published_holders(tmp_path: Path) -> None:
    tree = _holders_tree()
    section = {"root_hash": tree.root_hash, "total_units": str(tree.total_units), "holders": tree.leaf_count}
    (tmp_path / "report.json").write_text(json.dumps({"proof_of_liabilities": section}))
    proof = tree.proof(f"0x{1:040x}").to_json()
    proof["leaf_count"] = 7
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    result = cnh("verify-proof", str(tmp_path / "proof.json"), "--report", str(tmp_path / "report.json"), "--json")
    assert result.exit_code == cli.EXIT_FAILED
    assert json.loads(result.stdout)["reason"] == "not the published holder count"


def test_a_report_that_is_not_a_json_object_is_a_usage_error(tmp_path: Path) -> None:
    proof, report = tmp_path / "proof.json", tmp_path / "report.json"
    proof.write_text("{}")
    report.write_text("[1, 2]")
    result = cnh("verify-proof", str(proof), "--report", str(report))
    assert result.exit_code == cli.EXIT_USAGE
    assert "not an attestation report" in one_line_error(result)


@pytest.mark.parametrize("command", [("attest",), ("audit", "export")])
def test_an_output_path_that_cannot_be_written_is_refused_before_any_work(
    command: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cnh attest --out` used to create the attestation and then fail with a traceback."""
    monkeypatch.setattr(cli, "make_client", lambda *_a, **_k: pytest.fail("no request may be sent"))
    result = cnh(*command, "--out", str(tmp_path / "missing" / "x.json"), "--api-key", "k")
    assert result.exit_code == cli.EXIT_USAGE
    assert "does not exist" in one_line_error(result)
    result = cnh(*command, "--out", str(tmp_path), "--api-key", "k")
    assert result.exit_code == cli.EXIT_USAGE and "is a directory" in one_line_error(result)


def test_a_service_url_that_answers_something_else_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """A base URL pointing at another web server: 200 with HTML is not the API's answer."""
    html = httpx.MockTransport(lambda _: httpx.Response(200, text="<html>hello</html>"))
    monkeypatch.setattr(
        cli, "make_client", lambda api_url, api_key, **_: Client(api_url, api_key, transport=html)
    )
    result = cnh("keys", "create", "--role", "operator", "--admin-key", "k", "--api-url", "http://elsewhere.test")
    assert result.exit_code == cli.EXIT_FAILED
    assert "not JSON" in one_line_error(result)


def test_run_commands_hand_their_options_to_the_service_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr("issuer_service.__main__.main", lambda argv: calls.append(("service", argv)) or 0)
    monkeypatch.setattr("issuer_service.demo.main", lambda argv: calls.append(("demo", argv)) or 0)
    monkeypatch.setattr("issuer_service.chain.deploy_cli.main", lambda argv: calls.append(("deploy", argv)) or 0)
    assert cnh("serve", "--host", "192.0.2.1", "--port", "9000").exit_code == 0
    assert cnh("worker").exit_code == 0
    assert cnh("demo", "--keep-running").exit_code == 0
    assert cnh("deploy", "--rpc-url", "http://127.0.0.1:8545", "--keys-file", "k.json", "--json").exit_code == 0
    assert calls == [
        ("service", ["serve", "--host", "192.0.2.1", "--port", "9000"]),
        ("service", ["worker"]),
        ("demo", ["--keep-running"]),
        ("deploy", ["--rpc-url", "http://127.0.0.1:8545", "--keys-file", "k.json", "--json"]),
    ]


def test_deploy_help_is_the_deploy_commands_own() -> None:
    result = cnh("deploy", "--help")
    assert result.exit_code == 0 and "--rpc-url" in result.stdout and "--keys-file" in result.stdout


def test_sign_challenge_prints_a_signature_that_recovers_to_the_wallet() -> None:
    created = json.loads(cnh("sign", "new-wallet", "--json").stdout)
    wallet = Account.from_key(created["private_key"])
    assert wallet.address == created["address"]
    message = "CNH sandbox wallet binding\nWallet: " + wallet.address
    result = cnh("sign", "challenge", "--message", message, "--private-key", "0x" + wallet.key.hex().removeprefix("0x"))
    assert result.exit_code == 0, result.stderr
    assert Account.recover_message(encode_defunct(text=message), signature=result.stdout.strip()) == wallet.address
    bad = cnh("sign", "challenge", "--message", message, "--private-key", "0x1234")
    assert bad.exit_code == cli.EXIT_USAGE and "malformed" in one_line_error(bad)


@pytest.mark.chain
def test_sign_permit_prints_the_permit_the_service_will_accept(
    on_service: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = Account.create()
    monkeypatch.setenv("CNH_WALLET_KEY", "0x" + holder.key.hex().removeprefix("0x"))
    result = cnh("sign", "permit", "--amount", "100.00")
    assert result.exit_code == 0, result.stderr
    permit = json.loads(result.stdout)
    token = on_service.token()
    signer = recover_permit_signer(
        chain_id=token.chain_id,
        token=token.address,
        owner=holder.address,
        spender=token.redemption_spender,
        value=100 * 10**6,
        nonce=0,
        signature=PermitSignature(**permit),
    )
    assert signer == holder.address
    assert permit["deadline"] >= on_service.chain_time() + 3000
    refused = cnh("sign", "permit", "--amount", "1.001")
    assert refused.exit_code == cli.EXIT_USAGE and "2 decimal places" in one_line_error(refused)
