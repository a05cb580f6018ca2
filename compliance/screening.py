"""Sanctions screening (R20, R23): a list of names, aliases and wallet addresses, and a fuzzy
name match with a documented threshold. Pure: the list arrives as decoded JSON, the service stores
it and re-screens every customer and wallet when it changes.

Name matching (stdlib only):
1. Normalise both names: Unicode NFKD with accents dropped, case-folded, letters that have no
   decomposition folded to their usual Latin spelling (ø → o, æ → ae, ı → i, ł → l, þ → th, ...),
   every run of characters that is not a letter or digit (of any script: 王小明 and Иванов are
   names too) becomes one space, and legal-form words (ltd, limited, llc, inc, co, corp, company,
   plc, ...) are dropped, so "Vexmoor Arms Brokerage Ltd." and "VEXMØØR ARMS BROKERAGE" are the
   same name.
2. Score three ways, each an integer 0-100, and keep the highest:
   - whole name: difflib's similarity (2 x matching characters / total characters) of the two
     names with their words sorted, so word order does not matter ("Quill, Ostrogoth");
   - spacing: the same similarity of the two names with their spaces removed, so a space added or
     dropped does not matter ("CorvinaBlackledger", "Ostrogoth Quill feather");
   - coverage (listed names of two or more words only): each word of the listed name is paired
     with its most similar word in the candidate, and the pair scores are averaged weighted by
     word length. This finds a listed name inside a longer one ("Ostrogoth Ignatius Quill").
   A single listed word is never matched by coverage: one common word would flag half the book.
3. A score at or above NAME_MATCH_THRESHOLD is a hit.

The threshold is 85: in the unit tests it catches one or two typos, transliteration variants and
dropped or added middle names in names of ten characters or more, and keeps apart names that merely
share one common word ("Lotus Trading" against "Golden Dragon Trading"). Lower it to find more
(and review more false positives); every hit is a case a person clears or confirms.

Addresses match exactly (case-insensitive hex); a listed wallet is never a "similar" wallet.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

from compliance import decision as codes
from compliance.decision import Decision

DATA_DIR = Path(__file__).resolve().parent / "data"
SANDBOX_LIST_FILE = DATA_DIR / "sanctions_sandbox.json"
NAME_MATCH_THRESHOLD = 85
# Legal-form words carry no identity; "Ltd" must not make two firms look alike.
LEGAL_FORM_WORDS: frozenset[str] = frozenset(
    {
        "ltd",
        "limited",
        "llc",
        "llp",
        "lp",
        "inc",
        "incorporated",
        "co",
        "corp",
        "corporation",
        "company",
        "plc",
        "sa",
        "ag",
        "gmbh",
        "bv",
        "nv",
        "pte",
        "pty",
        "fze",
        "fzco",
        "srl",
        "spa",
        "the",
    }
)
# Letters NFKD leaves alone (no decomposition), as they are usually spelt in Latin transliteration.
_FOLDED_LETTERS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ı": "i", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ħ": "h", "ŧ": "t",
     "ŋ": "n", "ĸ": "k", "ſ": "s", "ɨ": "i", "ƒ": "f"}
)
_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}", re.ASCII)
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", re.ASCII)
MAX_ENTRIES = 100_000


class ScreeningListError(ValueError):
    """The screening list is malformed; the message names the entry and the field, and `field` is
    its path in the list (e.g. "version", "entries[3].addresses"), or None for the whole list."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ListedParty:
    """One entry: a person, firm or wallet cluster under a (fictional, in the sandbox) programme."""

    id: str
    name: str
    aliases: tuple[str, ...]
    addresses: frozenset[str]  # lower-case 0x hex
    program: str

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class ScreeningList:
    version: str
    source: str
    entries: tuple[ListedParty, ...]
    sha256: str  # of the canonical JSON, so two loads of the same content are recognisably equal

    def as_data(self) -> dict[str, object]:
        return _canonical(self.version, self.source, self.entries)


@dataclass(frozen=True)
class ScreeningHit:
    entry_id: str
    entry_name: str
    kind: str  # "name" | "address"
    matched_value: str  # the listed name or alias that matched, or the listed address
    score: int  # 0-100; 100 for an address


# ---------------------------------------------------------------- names
def normalise_name(name: str) -> str:
    """Step 1 of the module docstring: comparable words, legal forms dropped, in original order."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().translate(_FOLDED_LETTERS)
    spaced = "".join(ch if ch.isalnum() else " " for ch in plain)
    return " ".join(w for w in spaced.split() if w not in LEGAL_FORM_WORDS)


def _ratio(a: str, b: str) -> int:
    """difflib's similarity as an integer percentage, the same whichever string comes first."""
    if not a and not b:
        return 100
    total = len(a) + len(b)
    best = 0
    for first, second in ((a, b), (b, a)):
        matches = sum(
            block.size for block in SequenceMatcher(None, first, second, autojunk=False).get_matching_blocks()
        )
        best = max(best, 200 * matches // total)
    return best


def name_score(candidate: str, listed: str) -> int:
    """Step 2 of the module docstring: 0-100, how much `candidate` looks like the `listed` name."""
    candidate_words = normalise_name(candidate).split()
    listed_words = normalise_name(listed).split()
    if not candidate_words or not listed_words:
        return 0
    whole = max(
        _ratio(" ".join(sorted(candidate_words)), " ".join(sorted(listed_words))),
        _ratio("".join(candidate_words), "".join(listed_words)),
    )
    if len(listed_words) < 2:
        return whole
    weight = sum(len(word) for word in listed_words)
    covered = sum(len(word) * max(_ratio(word, other) for other in candidate_words) for word in listed_words)
    return max(whole, covered // weight)


# ---------------------------------------------------------------- screening
def screen_name(
    name: str, screening_list: ScreeningList, *, threshold: int = NAME_MATCH_THRESHOLD
) -> list[ScreeningHit]:
    """Every entry whose name or an alias scores at least `threshold` against `name`, best
    first; one hit per entry (its best-scoring name)."""
    hits = []
    for entry in screening_list.entries:
        best_score, best_name = max((name_score(name, listed), listed) for listed in entry.names())
        if best_score >= threshold:
            hits.append(ScreeningHit(entry.id, entry.name, "name", best_name, best_score))
    return sorted(hits, key=lambda hit: (-hit.score, hit.entry_id))


def screen_address(address: str, screening_list: ScreeningList) -> list[ScreeningHit]:
    """Entries listing this wallet address (exact, case-insensitive)."""
    wanted = address.strip().lower()
    return [
        ScreeningHit(entry.id, entry.name, "address", wanted, 100)
        for entry in screening_list.entries
        if wanted in entry.addresses
    ]


def check_onboarding(hits: Sequence[ScreeningHit], *, open_cases: int = 0) -> Decision:
    """R23: a hit, or an open or confirmed case, blocks onboarding until compliance clears it."""
    if hits or open_cases:
        names = ", ".join(sorted({f"{hit.entry_name} ({hit.kind} score {hit.score})" for hit in hits}))
        what = f"the sanctions list matches: {names}" if hits else f"{open_cases} screening case(s) are unresolved"
        return Decision.reject(
            codes.SANCTIONS_HIT,
            f"{what}; compliance must clear the screening case before this customer can be onboarded",
            "R23",
        )
    return Decision.allow("no sanctions match")


# ---------------------------------------------------------------- the list file
def parse_list(data: Mapping[str, object], *, source: str = "<data>") -> ScreeningList:
    """Validate decoded JSON `{version, source?, entries: [{id, name, aliases?, addresses?, program}]}`."""
    if not isinstance(data, Mapping):
        raise ScreeningListError(f"{source}: must be a JSON object")
    unknown = set(data) - {"version", "source", "entries", "notice"}
    if unknown:
        raise ScreeningListError(f"{source}: unknown keys {sorted(unknown)}", sorted(unknown)[0])
    version = data.get("version")
    if not isinstance(version, str) or not version.strip() or len(version) > 64:
        raise ScreeningListError(f"{source}: version must be a non-empty string of at most 64 characters", "version")
    list_source = data.get("source", source)
    if not isinstance(list_source, str) or len(list_source) > 200:
        raise ScreeningListError(f"{source}: source must be a string of at most 200 characters", "source")
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list):
        raise ScreeningListError(f"{source}: entries must be a list", "entries")
    if len(raw_entries) > MAX_ENTRIES:
        raise ScreeningListError(f"{source}: at most {MAX_ENTRIES} entries", "entries")
    entries = tuple(_parse_entry(raw, index, source) for index, raw in enumerate(raw_entries))
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise ScreeningListError(f"{source}: entry id {entry.id!r} appears twice", "entries")
        seen.add(entry.id)
    canonical = _canonical(version.strip(), list_source, entries)
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return ScreeningList(version=version.strip(), source=list_source, entries=entries, sha256=digest)


def _parse_entry(raw: object, index: int, source: str) -> ListedParty:
    path = f"entries[{index}]"
    where = f"{source}: {path}"
    if not isinstance(raw, Mapping):
        raise ScreeningListError(f"{where} must be an object", path)
    unknown = set(raw) - {"id", "name", "aliases", "addresses", "program", "note"}
    if unknown:
        raise ScreeningListError(f"{where}: unknown keys {sorted(unknown)}", f"{path}.{sorted(unknown)[0]}")
    entry_id, name, program = raw.get("id"), raw.get("name"), raw.get("program", "")
    if not isinstance(entry_id, str) or not _ID_RE.fullmatch(entry_id):
        raise ScreeningListError(f"{where}.id must be letters, digits and . _ : - (at most 64)", f"{path}.id")
    if not isinstance(name, str) or not normalise_name(name):
        raise ScreeningListError(f"{where}.name must be a name with at least one letter or digit", f"{path}.name")
    if not isinstance(program, str) or len(program) > 100:
        raise ScreeningListError(f"{where}.program must be a string of at most 100 characters", f"{path}.program")
    aliases = _strings(raw.get("aliases", []), f"{where}.aliases", f"{path}.aliases")
    for alias in aliases:
        if not normalise_name(alias):
            raise ScreeningListError(
                f"{where}.aliases has an alias without letters or digits: {alias!r}", f"{path}.aliases"
            )
    addresses = _strings(raw.get("addresses", []), f"{where}.addresses", f"{path}.addresses")
    for address in addresses:
        if not _ADDRESS_RE.fullmatch(address):
            raise ScreeningListError(
                f"{where}.addresses: {address!r} is not 0x followed by 40 hex digits", f"{path}.addresses"
            )
    return ListedParty(
        id=entry_id,
        name=name.strip(),
        aliases=tuple(a.strip() for a in aliases),
        addresses=frozenset(a.lower() for a in addresses),
        program=program,
    )


def _strings(value: object, where: str, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ScreeningListError(f"{where} must be a list of strings", path)
    return list(value)


def _canonical(version: str, source: str, entries: Iterable[ListedParty]) -> dict[str, object]:
    return {
        "version": version,
        "source": source,
        "entries": [
            {
                "id": e.id,
                "name": e.name,
                "aliases": list(e.aliases),
                "addresses": sorted(e.addresses),
                "program": e.program,
            }
            for e in entries
        ],
    }


def load_list_file(path: str | Path) -> ScreeningList:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ScreeningListError(f"{path.name}: not valid JSON: {exc}") from None
    return parse_list(data, source=path.name)


@cache
def sandbox_list() -> ScreeningList:
    """The fictional list shipped with the sandbox (compliance/data/sanctions_sandbox.json)."""
    return load_list_file(SANDBOX_LIST_FILE)
