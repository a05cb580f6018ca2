"""Service settings from the environment (and `.env`), in the full-stack-fastapi-template way.

Every setting is read from `CNH_<FIELD>` (e.g. `CNH_MODE=production`); `DATABASE_URL` and
`RPC_URL` are also accepted unprefixed, as design.md names them. Secrets are `SecretStr` so they
never appear in reprs or logs (R43). Outside sandbox mode the service refuses to start with a
placeholder secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The pepper for API-key hashes. Fine for a throw-away sandbox; refused in production because
# anyone who reads this file could then test guessed keys against a stolen hash table.
PLACEHOLDER_PEPPER = "changethis-sandbox-api-key-pepper"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CNH_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_by_name=True,
        # A validation error must not echo the input: it holds private keys and the pepper (R43).
        hide_input_in_errors=True,
    )

    mode: Literal["sandbox", "production"] = "sandbox"
    database_url: str = Field(
        default="sqlite:///.sandbox/issuer.db",
        validation_alias=AliasChoices("CNH_DATABASE_URL", "DATABASE_URL"),
    )
    # None: the service spawns its own Anvil (the sandbox default, R55).
    rpc_url: str | None = Field(default=None, validation_alias=AliasChoices("CNH_RPC_URL", "RPC_URL"))
    deployment_file: Path = Path(".sandbox/deployment.json")
    allow_mainnet: bool = False  # R55: refuse known main-net chain ids unless explicitly allowed
    anvil_port: int = Field(default=0, ge=0, le=65535)  # the spawned Anvil's port; 0 = any free port
    confirmations: int = Field(default=1, ge=0)
    worker_in_process: bool = True
    regime_profile: str = "hk"  # R60
    # R13: a holiday calendar replacing the profile's shipped one (compliance/data/hk_holidays.json),
    # in the same JSON format; env CNH_HOLIDAYS_FILE. None: the shipped file. Checked at start-up.
    holidays_file: Path | None = None

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=64 * 1024, ge=1)
    body_read_timeout_s: float = Field(default=30.0, gt=0)  # a request body must arrive within this (408)
    # May webhooks go to loopback, private and link-local addresses? None: in sandbox mode only,
    # where the developer's own machine receives them (issuer_service/webhooks/destinations.py).
    webhook_private_networks: bool | None = None
    # Failed authentications allowed per client IP per minute before 429.
    auth_failure_limit: int = Field(default=20, ge=1)
    # Threads serving requests (each runs one request's database work at a time), and the
    # PostgreSQL connection pool: pool + overflow connections per process, waiting at most
    # db_pool_timeout_s for one (then 503). SQLite ignores the pool settings.
    api_threads: int = Field(default=40, ge=1, le=1000)
    db_pool_size: int = Field(default=10, ge=1, le=1000)
    db_max_overflow: int = Field(default=10, ge=0, le=1000)
    db_pool_timeout_s: float = Field(default=30.0, gt=0)
    log_level: str = "INFO"

    admin_api_key: SecretStr | None = None  # env CNH_ADMIN_API_KEY; bootstraps an admin key
    api_key_pepper: SecretStr = SecretStr(PLACEHOLDER_PEPPER)

    # On-chain role keys (R42, R43): from the environment or a key file, never from code or logs.
    key_file: Path | None = None
    deployer_private_key: SecretStr | None = None
    admin_private_key: SecretStr | None = None
    minter_admin_private_key: SecretStr | None = None
    minter_private_key: SecretStr | None = None
    compliance_private_key: SecretStr | None = None
    attestor_private_key: SecretStr | None = None
    pauser_private_key: SecretStr | None = None

    @property
    def webhooks_reach_private_networks(self) -> bool:
        if self.webhook_private_networks is not None:
            return self.webhook_private_networks
        return self.mode == "sandbox"

    @field_validator("regime_profile")
    @classmethod
    def _known_profile(cls, name: str) -> str:
        """R60: an unknown profile, or a profile file that does not validate (with the holiday
        calendar it names, R13), stops the service at start-up, naming the valid ones or the fault."""
        from compliance.calendar import CalendarError, load_calendar
        from compliance.profiles import ProfileError, UnknownProfileError, available_profiles, load_profile

        if name not in available_profiles():
            raise ValueError(str(UnknownProfileError(name, available_profiles())))
        try:
            calendar = load_profile(name).holiday_calendar
        except ProfileError as exc:
            raise ValueError(f"regime profile {name!r} cannot be used: {exc}") from None
        except OSError as exc:
            raise ValueError(
                f"regime profile {name!r} cannot be read ({exc.strerror or exc.__class__.__name__})"
            ) from None
        try:
            load_calendar(calendar)
        except CalendarError as exc:
            raise ValueError(f"regime profile {name!r} cannot be used: {exc}") from None
        except OSError as exc:
            raise ValueError(
                f"regime profile {name!r} cannot be used: its holiday_calendar {calendar!r} cannot be read "
                f"from compliance/data/ ({exc.strerror or exc.__class__.__name__})"
            ) from None
        return name

    @field_validator("holidays_file")
    @classmethod
    def _readable_calendar(cls, path: Path | None) -> Path | None:
        """R13: a missing or malformed holiday file stops the service at start-up, naming the setting."""
        if path is None:
            return None
        from compliance.calendar import BusinessCalendar, CalendarError

        try:
            BusinessCalendar.from_file(path)
        except (OSError, CalendarError) as exc:
            raise ValueError(
                f"CNH_HOLIDAYS_FILE ({path}) is not a usable holiday calendar: {exc}; point it at a JSON file "
                "in the format of compliance/data/hk_holidays.json, or unset it to use the shipped calendar"
            ) from None
        return path

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.mode == "production":
            if self.api_key_pepper.get_secret_value() == PLACEHOLDER_PEPPER:
                raise ValueError(
                    "CNH_API_KEY_PEPPER is the sandbox placeholder; set a random secret "
                    "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) "
                    "before running in production mode"
                )
            if len(self.api_key_pepper.get_secret_value()) < 16:
                raise ValueError("CNH_API_KEY_PEPPER must be at least 16 characters in production mode")
        if self.admin_api_key is not None and not self.admin_api_key.get_secret_value().strip():
            raise ValueError("CNH_ADMIN_API_KEY is set but empty; unset it or give it a value")
        return self

    def chain_buffer_bps(self) -> int:
        """The on-chain reserve buffer comes from the regime profile (R1, R60)."""
        from compliance.profiles import load_profile

        return load_profile(self.regime_profile).reserve_buffer_bps

    def chain_max_attestation_age(self) -> int:
        from compliance.profiles import load_profile

        return load_profile(self.regime_profile).attestation_max_age_seconds

    @property
    def uses_placeholder_pepper(self) -> bool:
        return self.api_key_pepper.get_secret_value() == PLACEHOLDER_PEPPER
