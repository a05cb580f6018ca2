"""Offline verification of an audit-log export (R50): from the JSONL file alone, naming the first
bad record (seq and line) on any change, removal, reordering or garbage."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from compliance import audit_export
from compliance.audit_chain import (
    BROKEN_LINK,
    GENESIS_HASH,
    HASH_MISMATCH,
    MALFORMED_RECORD,
    SEQUENCE_GAP,
    make_record,
    verify_chain,
)
from compliance.audit_export import ANCHOR_MISMATCH, EMPTY_EXPORT, HEAD_MISMATCH, verify_export


def _records(count: int) -> list[dict[str, Any]]:
    records, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        record = make_record(
            prev,
            seq,
            at=f"2026-01-01T00:00:{seq % 60:02d}.000000Z",
            actor="key_1",
            action="deposit.confirmed",
            entity_type="deposit",
            entity_id=f"dep_{seq}",
            data={"amount_fen": 100 * seq, "note": "現金"},
            rule_ids=["R10"],
            request_id=None,
        )
        records.append(record)
        prev = str(record["hash"])
    return records


def _write(
    path: Path, records: list[dict[str, Any]], *, extra_lines: list[str] | None = None, canonical: bool = False
) -> Path:
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":"), sort_keys=canonical) for r in records]
    lines += extra_lines or []
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_untouched_export_verifies_and_reports_its_head(tmp_path: Path) -> None:
    records = _records(50)
    result = verify_export(_write(tmp_path / "log.jsonl", records))
    assert (result.ok, result.entries, result.head_hash) == (True, 50, records[-1]["hash"])


def test_an_empty_export_without_a_head_is_refused_as_proving_nothing(tmp_path: Path) -> None:
    # R50: an empty file is any log with every record cut off; only a published head can say it is the log.
    (tmp_path / "log.jsonl").write_text("", encoding="utf-8")
    result = verify_export(tmp_path / "log.jsonl")
    assert (result.ok, result.entries, result.reason) == (False, 0, EMPTY_EXPORT)
    assert "no records" in str(result.detail)
    assert verify_export(tmp_path / "log.jsonl", head_hash=GENESIS_HASH).ok  # a log that really is empty
    assert verify_export(tmp_path / "log.jsonl", head_hash="ab" * 32).reason == HEAD_MISMATCH


def test_a_changed_amount_is_named_by_seq_and_line(tmp_path: Path) -> None:
    records = _records(20)
    records[11]["data"]["amount_fen"] += 1
    result = verify_export(_write(tmp_path / "log.jsonl", records))
    assert (result.ok, result.first_bad_seq, result.reason, result.entries) == (False, 12, HASH_MISMATCH, 11)
    assert str(result.detail).startswith("line 12: seq 12")


def test_a_rehashed_forgery_breaks_the_link_to_the_next_record(tmp_path: Path) -> None:
    records = _records(10)
    forged = dict(records[4], actor="key_evil")
    forged.pop("hash")
    records[4] = make_record(str(forged.pop("prev_hash")), int(forged.pop("seq")), **forged)
    result = verify_export(_write(tmp_path / "log.jsonl", records))
    assert (result.first_bad_seq, result.reason) == (6, BROKEN_LINK)


def test_a_removed_record_is_a_sequence_gap(tmp_path: Path) -> None:
    records = _records(10)
    del records[6]
    result = verify_export(_write(tmp_path / "log.jsonl", records))
    assert (result.first_bad_seq, result.reason) == (7, SEQUENCE_GAP)


def test_a_garbage_line_is_a_malformed_record(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.jsonl", _records(3), extra_lines=["{not json"])
    result = verify_export(path)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 4, MALFORMED_RECORD)
    assert "line 4" in str(result.detail)


def _with_duplicated_key(record: dict[str, Any], key: str, shown: object) -> str:
    """The record's line with `key` given twice: a reader keeping the first value sees `shown`,
    Python's json (keeping the last) sees the hashed value."""
    return json.dumps({key: shown}, ensure_ascii=False)[:-1] + "," + json.dumps(record, ensure_ascii=False)[1:]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_line_with_a_duplicated_key_is_a_malformed_record_named_by_seq_and_line(tmp_path: Path, workers: int) -> None:
    records = _records(6)
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records]
    lines[2] = _with_duplicated_key(records[2], "action", "deposit.reversed")
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert json.loads(lines[2])["action"] == records[2]["action"]  # why json.loads alone accepts it
    result = verify_export(path, workers=workers)
    assert (result.ok, result.first_bad_seq, result.reason, result.entries) == (False, 3, MALFORMED_RECORD, 2)
    assert str(result.detail).startswith("line 3: ") and "'action'" in str(result.detail)


def test_a_duplicated_key_inside_the_data_of_a_record_is_refused_too(tmp_path: Path) -> None:
    records = _records(3)
    line = json.dumps(records[1], ensure_ascii=False).replace('"data": {', '"data": {"amount_fen": 1, ', 1)
    lines = [json.dumps(records[0]), line, json.dumps(records[2])]
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = verify_export(path)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 2, MALFORMED_RECORD)
    assert "'amount_fen'" in str(result.detail)


def test_the_anchor_from_a_report_and_the_published_head_are_checked(tmp_path: Path) -> None:
    records = _records(8)
    path = _write(tmp_path / "log.jsonl", records)
    assert verify_export(path, anchor=(5, str(records[4]["hash"])), head_hash=str(records[-1]["hash"])).ok
    wrong_anchor = verify_export(path, anchor=(5, "ab" * 32))
    assert (wrong_anchor.ok, wrong_anchor.reason, wrong_anchor.first_bad_seq) == (False, ANCHOR_MISMATCH, 5)
    missing = verify_export(path, anchor=(99, "ab" * 32))
    assert missing.reason == ANCHOR_MISMATCH and "not in the file" in str(missing.detail)
    truncated = verify_export(_write(tmp_path / "short.jsonl", records[:6]), head_hash=str(records[-1]["hash"]))
    assert truncated.reason == HEAD_MISMATCH  # the newest records were cut off


def test_cli_exit_codes_and_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = _records(5)
    good = _write(tmp_path / "good.jsonl", records)
    assert audit_export.main([str(good), "--head", str(records[-1]["hash"])]) == 0
    assert capsys.readouterr().out.startswith("OK: 5 records")
    records[2]["action"] = "deposit.reversed"
    bad = _write(tmp_path / "bad.jsonl", records)
    assert audit_export.main([str(bad), "--json", "--no-head"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert (result["first_bad_seq"], result["reason"]) == (3, HASH_MISMATCH)
    assert audit_export.main([str(tmp_path / "missing.jsonl"), "--no-head"]) == 2


def test_a_head_as_copied_in_capitals_is_the_same_head_and_one_that_is_no_hash_is_bad_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The published head pasted in upper case is the same hash (`cnh audit verify` takes it so); a
    value that is no SHA-256 hash is a usage error naming the option, not a "head mismatch" that
    reads as if the log had been cut."""
    records = _records(3)
    good = _write(tmp_path / "good.jsonl", records)
    head = str(records[-1]["hash"])
    assert audit_export.main([str(good), "--head", head.upper()]) == 0
    assert audit_export.main([str(good), "--anchor", f"2:{str(records[1]['hash']).upper()}"]) == 0
    capsys.readouterr()
    for wrong in (head[:-1], "zz" * 32, "0x" + head):
        with pytest.raises(SystemExit) as usage:
            audit_export.main([str(good), "--head", wrong])
        assert usage.value.code == 2
        assert "--head" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        audit_export.main([str(good), "--anchor", "2:" + "zz" * 32])
    assert usage.value.code == 2


def test_cli_refuses_to_verify_without_a_trusted_head_since_a_cut_tail_would_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # R50: the last record deleted leaves a shorter chain that verifies; only the published head shows it.
    records = _records(5)
    shortened = _write(tmp_path / "short.jsonl", records[:-1])
    assert audit_export.main([str(shortened)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "no trusted head" in err and "--head" in err and "GET /v1/audit-log/verify" in err and "--anchor" in err
    assert audit_export.main([str(shortened), "--head", str(records[-1]["hash"])]) == 1
    assert "head mismatch" in capsys.readouterr().out
    assert audit_export.main([str(shortened), "--anchor", f"5:{records[-1]['hash']}"]) == 1
    assert "anchor mismatch" in capsys.readouterr().out
    assert audit_export.main([str(shortened), "--no-head", "--head", str(records[-1]["hash"])]) == 2
    assert "--no-head contradicts" in capsys.readouterr().err


def test_cli_no_head_checks_the_file_but_warns_that_a_cut_tail_goes_unseen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shortened = _write(tmp_path / "short.jsonl", _records(5)[:-1])
    assert audit_export.main([str(shortened), "--no-head"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("OK: 4 records")
    assert err.startswith("WARNING:") and "would NOT be detected" in err


def test_cli_refuses_an_empty_file_without_a_head_even_with_no_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    assert audit_export.main([str(empty)]) == 2
    capsys.readouterr()
    assert audit_export.main([str(empty), "--no-head"]) == 1
    assert capsys.readouterr().out.startswith(f"FAIL: {empty}: the file has no records")


def test_cli_fails_a_line_with_a_duplicated_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    duplicated = tmp_path / "duplicated.jsonl"
    duplicated.write_text(_with_duplicated_key(_records(1)[0], "actor", "key_evil") + "\n", encoding="utf-8")
    assert audit_export.main([str(duplicated), "--no-head"]) == 1
    assert capsys.readouterr().out.startswith("FAIL at seq 1 (malformed record): line 1: line has a duplicated key")


def _tampered_files(tmp_path: Path, canonical: bool) -> dict[str, Path]:
    files = {"intact": _write(tmp_path / "intact.jsonl", _records(40), canonical=canonical)}
    changed = _records(40)
    changed[27]["data"]["amount_fen"] = 1
    files["changed"] = _write(tmp_path / "changed.jsonl", changed, canonical=canonical)
    gap = _records(40)
    del gap[31]
    files["gap"] = _write(tmp_path / "gap.jsonl", gap, canonical=canonical)
    floats = _records(40)
    floats[35]["data"]["rate"] = 1.5
    files["float"] = _write(tmp_path / "float.jsonl", floats)
    swapped = _records(40)
    swapped[20], swapped[21] = swapped[21], swapped[20]
    files["swapped"] = _write(tmp_path / "swapped.jsonl", swapped, canonical=canonical)
    forged = _records(40)  # a record re-hashed over non-canonical bytes: the next link breaks
    forged[10]["data"]["amount_fen"] = 5
    forged_line = json.dumps({k: v for k, v in forged[10].items() if k != "hash"}, separators=(", ", ": "))
    forged[10]["hash"] = hashlib.sha256(forged_line.encode()).hexdigest()
    files["forged"] = _write(tmp_path / "forged.jsonl", forged, canonical=canonical)
    return files


@pytest.mark.parametrize(("workers", "canonical"), [(1, False), (1, True), (2, True)])
def test_the_file_verifier_gives_verify_chains_verdict_read_whole_or_in_parallel_ranges(
    tmp_path: Path, workers: int, canonical: bool
) -> None:
    for name, path in _tampered_files(tmp_path, canonical).items():
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        reference = verify_chain(records)
        result = verify_export(path, workers=workers)
        assert (result.ok, result.entries, result.head_hash, result.first_bad_seq, result.reason) == (
            reference.ok,
            reference.entries,
            reference.head_hash,
            reference.first_bad_seq,
            reference.reason,
        ), name
