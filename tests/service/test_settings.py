"""Settings: env names, secrets kept out of reprs, placeholder secrets refused in production."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from issuer_service.settings import Settings


def test_design_env_names_and_prefixed_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/x")
    monkeypatch.setenv("RPC_URL", "http://127.0.0.1:8545")
    monkeypatch.setenv("CNH_CONFIRMATIONS", "3")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.database_url, settings.rpc_url, settings.confirmations) == (
        "postgresql+psycopg://root@127.0.0.1:5432/x",
        "http://127.0.0.1:8545",
        3,
    )


def test_defaults_are_the_embedded_sandbox() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.mode == "sandbox"
    assert settings.database_url == "sqlite:///.sandbox/issuer.db"
    assert settings.rpc_url is None and settings.allow_mainnet is False


def test_production_refuses_the_placeholder_pepper() -> None:
    with pytest.raises(ValidationError, match="CNH_API_KEY_PEPPER"):
        Settings(_env_file=None, mode="production")  # type: ignore[call-arg]
    ok = Settings(_env_file=None, mode="production", api_key_pepper=SecretStr("a-real-random-secret-value"))  # type: ignore[call-arg]
    assert ok.mode == "production"


def test_private_keys_never_appear_in_reprs_or_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "0x" + "ab" * 32
    monkeypatch.setenv("CNH_MINTER_PRIVATE_KEY", secret)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.minter_private_key is not None
    assert settings.minter_private_key.get_secret_value() == secret
    assert secret not in repr(settings) and secret not in str(settings.model_dump())
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None, mode="production")  # type: ignore[call-arg]
    assert secret not in str(error.value)
