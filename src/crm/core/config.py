"""Settings read from the environment (``CRM_`` prefix) and the secret-key file.

Every setting has a default that works for a first run on the embedded SQLite database;
``.env.example`` lists them all. The secret key is never a default in code: when
``CRM_SECRET_KEY`` is unset it is generated once and kept in the data directory.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str = ""
    secret_key: str = ""
    redis_url: str = ""
    # The Redis list the jobs go through; one per deployment sharing a Redis server.
    job_queue: str = "crm:jobs"

    access_token_minutes: int = Field(default=30, ge=1)
    refresh_token_days: int = Field(default=30, ge=1)

    login_max_failures_per_email: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=30, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)

    default_page_size: int = Field(default=10, ge=1)
    max_page_size: int = Field(default=100, ge=1)

    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    max_import_rows: int = Field(default=100_000, ge=1)
    max_import_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    import_sync_max_bytes: int = Field(default=1024 * 1024, ge=0)
    import_batch_rows: int = Field(default=1000, ge=1)
    # A running import job that has not committed a batch for this long is taken to have
    # died with its worker; the sweep hands it to another worker, which resumes it.
    import_lease_seconds: float = Field(default=300.0, gt=0)

    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "crm@localhost"
    email_sweep_seconds: float = Field(default=15.0, gt=0)
    email_max_attempts: int = Field(default=8, ge=1)
    # The first retry after the SMTP server was unavailable; each next one waits twice as
    # long, at most an hour.
    email_retry_seconds: float = Field(default=30.0, gt=0)
    email_claim_lease_seconds: int = Field(default=600, ge=30)

    # Rate limits: requests per window, counted in fixed windows (0 turns a limit off).
    # Every /api/ request counts against its credential (an access token's login session,
    # a secret key, an org key); a request without one counts against its client IP.
    rate_limit_api_per_credential: int = Field(default=1200, ge=0)
    rate_limit_api_per_ip: int = Field(default=600, ge=0)
    rate_limit_api_window_seconds: int = Field(default=60, ge=1)
    # Attempts (successful or not) on the auth endpoints, per client IP and per account.
    rate_limit_login_per_ip: int = Field(default=60, ge=0)
    rate_limit_login_per_account: int = Field(default=10, ge=0)
    rate_limit_register_per_ip: int = Field(default=20, ge=0)
    rate_limit_register_per_account: int = Field(default=5, ge=0)
    rate_limit_refresh_per_ip: int = Field(default=120, ge=0)
    rate_limit_refresh_per_account: int = Field(default=10, ge=0)
    rate_limit_google_per_ip: int = Field(default=60, ge=0)
    rate_limit_google_per_account: int = Field(default=10, ge=0)
    rate_limit_auth_window_seconds: int = Field(default=60, ge=1)
    # Leads accepted per website key per minute on create-from-site.
    lead_capture_per_minute: int = Field(default=60, ge=0)
    # Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For (and
    # X-Forwarded-Proto) are believed; empty: none, the client IP is the connection's peer.
    trusted_proxies: str = ""

    # Rendered list responses kept per worker, keyed by the org's data version (0: off).
    list_cache_entries: int = Field(default=1024, ge=0)

    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    # PostgreSQL: how long to wait for a new connection, and for a free one from the pool,
    # before the request answers 503 (Retry-After).
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)

    # Security events (/api/audit-log/) older than this are deleted by the sweep (0: never).
    audit_retention_days: int = Field(default=365, ge=0)

    admin_email: str = ""
    log_level: str = "INFO"

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry != "*":
                ipaddress.ip_network(entry, strict=False)  # a ValueError names the bad entry
        return ",".join(entries)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'crm.sqlite3').resolve()}"

    def ensure_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def resolved_secret_key(self) -> str:
        """The configured key, else the one stored in the data directory (created on first use)."""
        if self.secret_key:
            return self.secret_key
        self.ensure_data_dir()
        path = self.data_dir / SECRET_KEY_FILE
        if not path.exists():
            # Written to a private temporary file, then hard-linked into place: the key file
            # appears complete or not at all, and when two workers race exactly one link wins.
            fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".secret_key.")
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        key = path.read_text().strip()
        if len(key) < 32:
            raise RuntimeError(
                f"{path} holds no usable secret key; delete it or set CRM_SECRET_KEY"
            )
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
