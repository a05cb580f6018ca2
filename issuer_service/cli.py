"""`cnh`: the sandbox's command line (SANDBOX - NOT A LICENSED STABLECOIN).

    cnh demo | deploy | serve | worker                    run things
    cnh keys create --role operator                       admin: issue keys
    cnh attest [--block N]                                auditor: reserve attestation
    cnh audit verify [--file F --head HASH] | export      auditor: the audit hash chain (R50)
    cnh verify-proof proof.json --report report.json      anyone: a proof of liabilities (R54)
    cnh sign new-wallet | challenge | permit              a wallet holder: sign locally

Errors are one line on stderr. Exit codes: 0 ok, 1 a check failed or the work failed, 2 bad usage,
3 the API refused (the problem's detail is printed), 4 the service could not be reached.
API commands talk HTTP through the SDK (`cnh_sdk`); only demo/deploy/serve/worker import the service.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cnh_sdk import DEFAULT_BASE_URL, Client, CnhError, ProblemError, TransportError, amount_units

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED, EXIT_UNREACHABLE = 0, 1, 2, 3, 4

app = typer.Typer(
    name="cnh",
    help="CNH stablecoin sandbox: run the issuer, manage keys, attest and audit. SANDBOX - NOT A LICENSED STABLECOIN.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="API keys (admin).", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log's hash chain (R50).", no_args_is_help=True)
sign_app = typer.Typer(
    help="Sign locally with a wallet's private key (the key never leaves this machine).", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(sign_app, name="sign")

console = Console(stderr=True, soft_wrap=True)  # progress and messages; stdout carries results only

ApiUrl = Annotated[str, typer.Option("--api-url", envvar="CNH_API_URL", help="The issuer service.")]
AdminKey = Annotated[
    str | None, typer.Option("--admin-key", envvar="CNH_ADMIN_API_KEY", show_default=False, help="An admin API key.")
]
AuditorKey = Annotated[
    str | None, typer.Option("--api-key", envvar="CNH_API_KEY", show_default=False, help="An auditor API key.")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout, for scripts.")]
PrivateKey = Annotated[
    str,
    typer.Option(
        "--private-key",
        envvar="CNH_WALLET_KEY",
        show_default=False,
        help="The wallet's private key, 0x + 64 hex (prefer the env var).",
    ),
]


def make_client(api_url: str, api_key: str | None, *, rpc_url: str | None = None) -> Client:
    """Every API command's client (tests replace this to talk to an in-process app)."""
    try:
        return Client(api_url, api_key, rpc_url=rpc_url)
    except httpx.InvalidURL as exc:
        fail(f"--api-url {api_url} is not a URL ({exc}); e.g. {DEFAULT_BASE_URL}", EXIT_USAGE)
    except ValueError as exc:  # an API key no issued key looks like
        fail(str(exc), EXIT_USAGE)


# --- output and errors ------------------------------------------------------------------------


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    console.print(f"[red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def ok(message: str) -> None:
    console.print(f"[green]✓[/] {escape(message)}", highlight=False)


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def need_key(key: str | None, option: str, env: str, role: str) -> str:
    if not key:
        fail(f"this needs {role} API key: pass {option} or set {env}", EXIT_USAGE)
    return key


def writable(path: Path | None) -> None:
    """Refuse an output path that cannot be written before any work is done (an attestation, an
    export), rather than failing after it."""
    if path is None:
        return
    if path.is_dir():
        fail(f"{path} is a directory; give a file name, e.g. {path / 'out.json'}", EXIT_USAGE)
    if not path.parent.is_dir():
        fail(f"directory {path.parent} does not exist; create it or choose another --out", EXIT_USAGE)
    if not os.access(path.parent, os.W_OK):
        fail(f"directory {path.parent} is not writable; choose another --out", EXIT_USAGE)


@contextmanager
def api_errors() -> Iterator[None]:
    """Every SDK failure becomes one line and an exit code."""
    try:
        yield
    except ProblemError as exc:
        fail(str(exc), EXIT_REFUSED)
    except TransportError as exc:
        fail(str(exc), EXIT_UNREACHABLE)
    except CnhError as exc:
        fail(str(exc), EXIT_FAILED)


def spinner() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
    )


# --- running things ----------------------------------------------------------------------------


@app.command()
def demo(
    keep_running: Annotated[bool, typer.Option("--keep-running", help="Leave the service up afterwards.")] = False,
) -> None:
    """Walk the whole sandbox end to end: spawn the service and a chain, onboard, mint, transfer, redeem, audit."""
    from issuer_service.demo import main

    raise typer.Exit(main(["--keep-running"] if keep_running else []))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
def deploy(ctx: typer.Context) -> None:
    """Deploy the tCNH token (spawns Anvil by default). All options: cnh deploy --help."""
    from issuer_service.chain.deploy_cli import main

    raise typer.Exit(main(list(ctx.args)))


def _service(argv: list[str]) -> None:
    from issuer_service.__main__ import main

    raise typer.Exit(main(argv))


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default: CNH_HOST or 127.0.0.1).", show_default=False)
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: CNH_PORT or 8000).", show_default=False)] = None,
) -> None:
    """Serve the HTTP API. With no RPC_URL it spawns Anvil and deploys tCNH itself."""
    argv = ["serve"]
    if host is not None:
        argv += ["--host", host]
    if port is not None:
        argv += ["--port", str(port)]
    _service(argv)


@app.command()
def worker() -> None:
    """Run the outbox worker and indexer alone (needs RPC_URL and the deployment file)."""
    _service(["worker"])


# --- keys --------------------------------------------------------------------------------------

STAFF_ROLES = ("admin", "operator", "compliance", "treasury", "auditor")


@keys_app.command("create")
def keys_create(
    role: Annotated[
        str, typer.Option(help=f"One of {', '.join(STAFF_ROLES)}, or customer (with --customer).", show_default=False)
    ],
    label: Annotated[str | None, typer.Option(help="Who or what uses the key.", show_default=False)] = None,
    customer: Annotated[
        str | None, typer.Option(help="The customer id, for --role customer.", show_default=False)
    ] = None,
    api_url: ApiUrl = DEFAULT_BASE_URL,
    admin_key: AdminKey = None,
    as_json: JsonFlag = False,
) -> None:
    """Issue an API key; the secret is printed this once (R42, R43)."""
    if role not in (*STAFF_ROLES, "customer"):
        fail(f"--role must be one of {', '.join(STAFF_ROLES)} or customer, not {role!r}", EXIT_USAGE)
    if (role == "customer") != (customer is not None):
        fail("--customer goes with --role customer (and only with it)", EXIT_USAGE)
    key = need_key(admin_key, "--admin-key", "CNH_ADMIN_API_KEY", "an admin")
    with api_errors(), make_client(api_url, key) as cnh:
        if customer is not None:
            created = cnh.create_customer_api_key(customer, label)
        else:
            created = cnh.create_api_key(role, label or f"{role} key (cnh CLI)")  # type: ignore[arg-type]
    if as_json:
        emit_json(created.model_dump(mode="json"))
        return
    ok(f"{created.role} key {created.id} ({created.label}); the secret is shown only now:")
    typer.echo(created.key)
    if created.pending_approval_id is not None:
        console.print(
            f"[yellow]![/] it works once a second admin approves {created.pending_approval_id} "
            f"(POST /v1/approvals/{created.pending_approval_id}/approve, R40)",
            highlight=False,
        )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (key_…), not the secret.")],
    api_url: ApiUrl = DEFAULT_BASE_URL,
    admin_key: AdminKey = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key: it answers 401 from now on."""
    if not key_id.startswith("key_"):
        # Most likely the secret itself (a leaked key is what one has in hand): never send it in a URL.
        fail(
            "KEY_ID is the key's id (key_…), printed when it was issued, not its secret; find a forgotten id "
            "by label in the audit log, GET /v1/audit-log?action=api_key.created (see docs/runbook.md)",
            EXIT_USAGE,
        )
    key = need_key(admin_key, "--admin-key", "CNH_ADMIN_API_KEY", "an admin")
    with api_errors(), make_client(api_url, key) as cnh:
        revoked = cnh.revoke_api_key(key_id)
    if as_json:
        emit_json(revoked.model_dump(mode="json"))
    else:
        ok(f"revoked {revoked.id} ({revoked.role}, {revoked.label}) at {revoked.revoked_at}")


# --- attestations ------------------------------------------------------------------------------


@app.command()
def attest(
    block: Annotated[
        int | None,
        typer.Option(
            "--block", min=0, help="Attest as of this block (default: the newest indexed block).", show_default=False
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Also save the canonical report JSON (the bytes its sha256 covers) here.", show_default=False
        ),
    ] = None,
    wait: Annotated[float, typer.Option(min=0, help="Seconds to wait for the indexer to reach --block.")] = 60.0,
    api_url: ApiUrl = DEFAULT_BASE_URL,
    api_key: AuditorKey = None,
    as_json: JsonFlag = False,
) -> None:
    """Build a reserve attestation report (auditor, R52-R54); exit 1 if reserves do not cover supply plus buffer."""
    key = need_key(api_key, "--api-key", "CNH_API_KEY", "an auditor")
    writable(out)
    with api_errors(), make_client(api_url, key) as cnh, spinner() as progress:
        where = "the newest block" if block is None else f"block {block}"
        progress.add_task(f"attesting reserves as of {where}")
        report = cnh.create_attestation(block, wait=wait)  # waits while the service catches up with the block
        if out is not None:
            canonical = cnh.attestation_report(report.id, "json")
            if hashlib.sha256(canonical).hexdigest() != report.sha256:
                fail(f"the report bytes do not hash to the attestation's sha256 {report.sha256}")
            out.write_bytes(canonical)
    if as_json:
        emit_json(report.model_dump(mode="json", exclude={"report"}))
    else:
        ok(
            f"attestation {report.id} at block {report.as_of_block}: {report.result}"
            + (" (an identical report already existed)" if report.reproduced else "")
        )
        for name, value in (
            ("block time", report.block_time),
            ("supply", f"{report.supply} tCNH"),
            ("holders", report.holders),
            ("liabilities root", report.proof_of_liabilities_root),
            ("sha256", report.sha256),
            ("report", report.links.get("html")),
            ("saved to", out),
        ):
            if value is not None:
                typer.echo(f"  {name:<17} {value}")
    if report.result != "pass":
        raise typer.Exit(EXIT_FAILED)


# --- audit -------------------------------------------------------------------------------------


def _is_hash(text: str) -> bool:
    return len(text) == 64 and all(char in "0123456789abcdefABCDEF" for char in text)


def _anchor(text: str | None) -> tuple[int, str] | None:
    if text is None:
        return None
    seq, _, hash_hex = text.partition(":")
    if not seq.isdigit() or not _is_hash(hash_hex):
        fail("--anchor must be SEQ:HASH (64 hex digits), e.g. from an attestation report", EXIT_USAGE)
    return int(seq), hash_hex.lower()


def _head(text: str | None) -> str | None:
    if text is not None and not _is_hash(text):
        fail("--head must be the 64 hex digits of a head hash, as `cnh audit export` prints it", EXIT_USAGE)
    return text.lower() if text is not None else None


@audit_app.command("verify")
def audit_verify(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="Verify this export (JSON lines) offline instead of asking the service.", show_default=False
        ),
    ] = None,
    anchor: Annotated[
        str | None,
        typer.Option(
            help="With --file: SEQ:HASH that must be in the log, e.g. the audit anchor of an attestation report.",
            show_default=False,
        ),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option(
            help="With --file: the head hash the service published; the last record must have it.", show_default=False
        ),
    ] = None,
    no_head: Annotated[
        bool,
        typer.Option(
            "--no-head",
            help="With --file: check without --head/--anchor. Records cut from the end then go UNDETECTED.",
        ),
    ] = False,
    api_url: ApiUrl = DEFAULT_BASE_URL,
    api_key: AuditorKey = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the audit log's hash chain end to end (R50); exit 1 if it is broken. Offline (--file) it needs a
    trusted head, --head or --anchor: a file with its last records deleted is a shorter chain that verifies."""
    warning = None
    if file is not None:
        from compliance.audit_export import EMPTY_EXPORT, NO_HEAD_WARNING, verify_export

        if no_head and (head is not None or anchor is not None):
            fail("--no-head contradicts --head/--anchor: give one or the other", EXIT_USAGE)
        if not no_head and head is None and anchor is None:
            fail(
                "no trusted head: without --head (head_hash from GET /v1/audit-log/verify or `cnh audit verify`, "
                "or the head `cnh audit export` prints) or --anchor SEQ:HASH (an attestation report's audit "
                "anchor), records deleted from the end of the file cannot be detected; pass --no-head to check "
                "it anyway",
                EXIT_USAGE,
            )
        if not file.is_file():
            fail(f"{file} is not a file; export one with `cnh audit export --out {file}`", EXIT_USAGE)
        with spinner() as progress:
            progress.add_task(f"recomputing every hash in {file}")
            data = asdict(verify_export(file, anchor=_anchor(anchor), head_hash=_head(head)))
        where = str(file)
        warning = NO_HEAD_WARNING if no_head else None
        if data["reason"] == EMPTY_EXPORT and not as_json:
            fail(f"{file}: {data['detail']}", EXIT_FAILED)
    else:
        if anchor is not None or head is not None or no_head:
            fail("--anchor, --head and --no-head go with --file", EXIT_USAGE)
        key = need_key(api_key, "--api-key", "CNH_API_KEY", "an auditor")
        with api_errors(), make_client(api_url, key) as cnh, spinner() as progress:
            progress.add_task("the service is recomputing every hash")
            data = cnh.verify_audit_log().model_dump(mode="json")
        where = api_url
    if as_json:
        emit_json(data)
    elif data["ok"]:
        ok(f"audit chain intact: {data['entries']} records, head {data['head_hash']} ({where})")
    else:
        reason = data.get("detail") or data.get("reason")
        console.print(
            f"[red]✗[/] audit chain broken at seq {data['first_bad_seq']}: {escape(str(reason))} "
            f"({data['entries']} records verified before it; {escape(where)})",
            highlight=False,
        )
    if warning is not None:  # last, so it is what the reader sees: the verdict above says nothing about the tail
        console.print(f"[bold yellow]{escape(warning)}[/]", highlight=False)
    if not data["ok"]:
        raise typer.Exit(EXIT_FAILED)


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option(help="Where to write the JSON lines.", show_default=False)],
    api_url: ApiUrl = DEFAULT_BASE_URL,
    api_key: AuditorKey = None,
    as_json: JsonFlag = False,
) -> None:
    """Download the whole audit log as JSON lines (auditor), for `cnh audit verify --file`."""
    key = need_key(api_key, "--api-key", "CNH_API_KEY", "an auditor")
    writable(out)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("exporting: {task.completed} records"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with api_errors(), make_client(api_url, key) as cnh, progress:
        task = progress.add_task("export", total=None)
        count = cnh.export_audit_log(out, on_record=lambda n: progress.update(task, completed=n))
    ok(f"{count} audit records written to {out}")
    head = json.loads(out.read_bytes().splitlines()[-1])["hash"] if count else None
    if as_json:
        typer.echo(json.dumps({"file": str(out), "records": count, "head_hash": head}))
    elif head:
        typer.echo(f"  head {head}: check offline with `cnh audit verify --file {out} --head {head}`")


# --- proofs of liabilities ---------------------------------------------------------------------


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{path} not found; save the {what} JSON first", EXIT_USAGE)
    except (OSError, ValueError) as exc:
        fail(f"cannot read {path} as JSON: {exc}", EXIT_USAGE)


@app.command("verify-proof")
def verify_proof(
    proof: Annotated[
        Path, typer.Argument(help="A proof of liabilities (JSON) from GET /v1/attestations/{id}/proofs/{address}.")
    ],
    report: Annotated[
        Path | None,
        typer.Option(
            help="The attestation report JSON that published the root (cnh attest --out).", show_default=False
        ),
    ] = None,
    root: Annotated[
        str | None, typer.Option(help="The published root (64 hex), instead of --report.", show_default=False)
    ] = None,
    total: Annotated[
        str | None,
        typer.Option(
            help="The published total in token units (total_units, e.g. 2500000000 for 2,500 tCNH), with --root.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check offline that a balance is counted in the root an attestation report published (R54); exit 1 if
    not. The published root is required (--report or --root): a proof alone fits a made-up tree too."""
    from compliance.verify_proof import published_facts_of_report
    from compliance.verify_proof import verify_proof as check

    if report is None and root is None:
        fail(
            "no published root: pass the root published in the attestation report, --report report.json "
            "(`cnh attest --out report.json` or GET /v1/attestations/{id}/report.json) or --root HEX (its "
            "proof_of_liabilities.root_hash, also on /transparency)",
            EXIT_USAGE,
        )
    if report is not None and (root is not None or total is not None):
        fail("give either --report or --root/--total", EXIT_USAGE)
    if root is not None and not _is_root_hash(root):
        fail(f"--root must be the 64 hex digits of the published root_hash, not {root!r}", EXIT_USAGE)
    if total is not None and not (total.isascii() and total.isdigit()):
        fail(
            f"--total must be the published total_units, a whole number of token units (6 decimals: "
            f"2,500 tCNH is 2500000000), not {total!r}",
            EXIT_USAGE,
        )
    total_units = int(total) if total is not None else None
    document = _read_json(proof, "proof")
    holders = None
    if report is not None:
        try:
            published = published_facts_of_report(_read_json(report, "report"))
        except ValueError as exc:
            fail(f"{report}: {exc}", EXIT_USAGE)
        root, total_units, holders = published.root_hash, published.total_units, published.holders
    result = check(document, published_root=root, published_total_units=total_units, published_leaf_count=holders)
    if as_json:
        emit_json(asdict(result))
    elif result.ok:
        ok(
            f"{result.address} holds {_tcnh(result.balance_units)} tCNH at block {result.block}, counted in root "
            f"{result.root_hash} (total {_tcnh(result.total_units)} tCNH)"
        )
    else:
        console.print(
            f"[red]✗[/] proof rejected ({escape(str(result.reason))}): {escape(str(result.detail))}", highlight=False
        )
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)


def _is_root_hash(text: str) -> bool:
    digits = text.lower().removeprefix("0x")
    return len(digits) == 64 and all(char in "0123456789abcdef" for char in digits)


def _tcnh(units: int | None) -> str:
    whole, fraction = divmod(units or 0, 10**6)
    return f"{whole:,}.{fraction:06d}"


# --- local signing -----------------------------------------------------------------------------


@sign_app.command("new-wallet")
def sign_new_wallet(as_json: JsonFlag = False) -> None:
    """Create a throw-away sandbox wallet key (for trying things out; keep real keys in a real wallet)."""
    from eth_account import Account

    wallet = Account.create()
    private_key = "0x" + bytes(wallet.key).hex()
    if as_json:
        emit_json({"address": wallet.address, "private_key": private_key})
    else:
        typer.echo(f"address      {wallet.address}\nprivate key  {private_key}")


@sign_app.command("challenge")
def sign_challenge_command(
    message: Annotated[
        str, typer.Option(help="The challenge text from GET /v1/wallets/challenge, unchanged.", show_default=False)
    ],
    private_key: PrivateKey,
) -> None:
    """Print the EIP-191 signature (0x-hex) of a wallet-binding challenge (R21)."""
    from cnh_sdk import sign_challenge

    try:
        typer.echo(sign_challenge(private_key, message))
    except ValueError:
        fail("the private key is malformed; expect 0x + 64 hex digits", EXIT_USAGE)


@sign_app.command("permit")
def sign_permit_command(
    amount: Annotated[str, typer.Option(help="CNH to redeem, a decimal string such as 100.00.", show_default=False)],
    private_key: PrivateKey,
    deadline_seconds: Annotated[int, typer.Option(min=1, help="The permit is void this long after now.")] = 3600,
    rpc_url: Annotated[
        str | None,
        typer.Option(
            help="The chain's JSON-RPC endpoint (default: the one GET /v1/token advertises).", show_default=False
        ),
    ] = None,
    api_url: ApiUrl = DEFAULT_BASE_URL,
) -> None:
    """Print the EIP-2612 permit JSON {deadline, v, r, s} a redemption of AMOUNT needs (R13)."""
    from cnh_sdk import as_account

    try:
        account = as_account(private_key)
    except ValueError:
        fail("the private key is malformed; expect 0x + 64 hex digits", EXIT_USAGE)
    try:
        amount_units(amount)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    with api_errors(), make_client(api_url, None, rpc_url=rpc_url) as cnh:
        permit = cnh.build_redemption_permit(account, amount, deadline_seconds=deadline_seconds)
    typer.echo(json.dumps(permit.model_dump()))


if __name__ == "__main__":  # `python -m issuer_service.cli`, where the console script is not installed
    app(prog_name="cnh")
