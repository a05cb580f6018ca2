"""Every setting the service reads is named in the documentation a newcomer reads (README.md and
docs/), spelt as the environment variable it is read from, so none is used but undocumented."""

from __future__ import annotations

from pathlib import Path

from issuer_service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def documentation() -> str:
    return "\n".join(path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


def test_every_service_setting_is_documented_under_its_environment_variable() -> None:
    text = documentation()
    missing = [f"CNH_{name.upper()}" for name in Settings.model_fields if f"CNH_{name.upper()}" not in text]
    assert not missing, f"settings read by the service but named nowhere in README.md or docs/: {missing}"
