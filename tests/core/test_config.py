"""Settings defaults, the generated secret key, and database-URL mapping."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from crm.core.config import SECRET_KEY_FILE, Settings
from crm.core.db import async_url


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CRM_* variables and no .env file: only the code's defaults apply."""
    for name in [n for n in os.environ if n.upper().startswith("CRM_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_default_database_is_sqlite_under_data_dir(clean_env: Path) -> None:
    settings = Settings()
    assert settings.database_url == ""
    assert settings.data_dir == Path("var")
    expected = f"sqlite:///{(clean_env / 'var' / 'crm.sqlite3').resolve()}"
    assert settings.effective_database_url == expected


def test_database_url_follows_data_dir(clean_env: Path) -> None:
    data_dir = clean_env / "elsewhere"
    settings = Settings(data_dir=data_dir)
    assert settings.effective_database_url == f"sqlite:///{(data_dir / 'crm.sqlite3').resolve()}"


def test_explicit_database_url_wins(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql://crm@db:5432/crm")
    assert Settings().effective_database_url == "postgresql://crm@db:5432/crm"


def test_env_file_is_read(clean_env: Path) -> None:
    (clean_env / ".env").write_text("CRM_MAX_PAGE_SIZE=7\nCRM_DATA_DIR=/srv/crm\n")
    settings = Settings()
    assert settings.max_page_size == 7
    assert settings.data_dir == Path("/srv/crm")


def test_secret_key_generated_once_and_kept(clean_env: Path) -> None:
    data_dir = clean_env / "data" / "nested"
    settings = Settings(data_dir=data_dir)
    assert not data_dir.exists()

    key = settings.resolved_secret_key()
    path = data_dir / SECRET_KEY_FILE
    assert len(key) >= 32
    assert path.read_text() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.resolved_secret_key() == key
    assert Settings(data_dir=data_dir).resolved_secret_key() == key
    # A different data directory gets a different key.
    assert Settings(data_dir=clean_env / "other").resolved_secret_key() != key


def test_stored_secret_key_is_stripped(clean_env: Path) -> None:
    data_dir = clean_env / "data"
    data_dir.mkdir()
    (data_dir / SECRET_KEY_FILE).write_text("  handwritten-key-" + "k" * 40 + "\n")
    assert Settings(data_dir=data_dir).resolved_secret_key() == "handwritten-key-" + "k" * 40


def test_empty_secret_key_file_is_never_used_as_key(clean_env: Path) -> None:
    data_dir = clean_env / "data"
    data_dir.mkdir()
    (data_dir / SECRET_KEY_FILE).write_text("")
    try:
        key = Settings(data_dir=data_dir).resolved_secret_key()
    except Exception:  # refusing to start is an acceptable answer too
        return
    assert key != ""


def test_explicit_secret_key_wins(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = clean_env / "data"
    Settings(data_dir=data_dir).resolved_secret_key()  # a stored key exists
    monkeypatch.setenv("CRM_SECRET_KEY", "from-the-environment-" + "e" * 30)
    assert Settings(data_dir=data_dir).resolved_secret_key() == "from-the-environment-" + "e" * 30
    explicit = Settings(data_dir=clean_env / "fresh", secret_key="given-" + "g" * 40)
    assert explicit.resolved_secret_key() == "given-" + "g" * 40
    assert not (clean_env / "fresh").exists()  # nothing generated when a key is given


def test_data_dir_expands_user(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(clean_env))
    assert Settings(data_dir=Path("~/crm-data")).data_dir == clean_env / "crm-data"


def test_invalid_setting_is_rejected(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_MAX_PAGE_SIZE", "0")
    with pytest.raises(ValueError, match="max_page_size"):
        Settings()


# -- async_url --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["postgresql://u@h:5432/d", "postgres://u@h:5432/d", "postgresql+psycopg2://u@h:5432/d"],
)
def test_async_url_postgres(raw: str) -> None:
    url = async_url(raw)
    assert url.drivername == "postgresql+asyncpg"
    assert (url.username, url.host, url.port, url.database) == ("u", "h", 5432, "d")


def test_async_url_keeps_password() -> None:
    url = async_url("postgresql://u:s3cret@h/d")
    assert url.password == "s3cret"
    assert url.render_as_string(hide_password=False) == "postgresql+asyncpg://u:s3cret@h/d"


def test_async_url_maps_sslmode_to_ssl() -> None:
    url = async_url("postgresql://u@h:5432/d?sslmode=require&application_name=crm")
    assert dict(url.query) == {"ssl": "require", "application_name": "crm"}


@pytest.mark.parametrize(
    ("raw", "database"),
    [("sqlite:///x", "x"), ("sqlite:////abs/path/crm.sqlite3", "/abs/path/crm.sqlite3")],
)
def test_async_url_sqlite(raw: str, database: str) -> None:
    url = async_url(raw)
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == database


@pytest.mark.parametrize("raw", ["mysql://u@h/d", "mssql+pyodbc://u@h/d", "oracle://u@h/d"])
def test_async_url_rejects_other_databases(raw: str) -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        async_url(raw)


def test_env_example_lists_every_setting_with_its_default(clean_env: Path) -> None:
    """.env.example is the settings' reference: a new or changed setting must show there."""
    example = Path(__file__).resolve().parents[2] / ".env.example"
    listed: dict[str, str] = {}
    for line in example.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            listed[name.strip()] = value.strip()
    fields = {f"CRM_{name.upper()}" for name in Settings.model_fields}
    assert set(listed) == fields
    (clean_env / ".env").write_text(example.read_text())
    assert Settings() == Settings(_env_file=None)
