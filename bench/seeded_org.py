"""The org the benchmark seeds and logs in as, shared by ``seed.py`` and ``run.py``.

Both scripts read these constants, so ``run.py`` finds what ``seed.py`` made without a
manifest file: it logs in as :data:`ADMIN_EMAIL` and looks the org up by :data:`ORG_NAME`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

ORG_NAME = "bench"
ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_FIRST_NAME = "Bea"
ADMIN_LAST_NAME = "Bench"
# A throwaway login of a throwaway database; never a production credential.
PASSWORD = "bench-password-42"  # noqa: S105
# Every seeded timestamp lies in the two years before this instant (fixed: reproducible);
# rows made later, e.g. by run.py's create-lead scenario, are newer.
ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
# The server's signing key in benchmarks, fixed so a token printed by seed.py stays valid.
SECRET_KEY = "bench-only-signing-key-0123456789-abcdefghijklmnop"  # noqa: S105


@dataclass(frozen=True, slots=True)
class SeededMember:
    email: str
    first_name: str
    last_name: str
    phone: str


MEMBERS = (
    SeededMember("sam.seller@example.com", "Sam", "Seller", "+14155550201"),
    SeededMember("mia.marketer@example.com", "Mia", "Marketer", "+14155550202"),
    SeededMember("oscar.operator@example.com", "Oscar", "Operator", "+14155550203"),
    SeededMember("sue.supporter@example.com", "Sue", "Supporter", "+14155550204"),
)


def backend_of(database_url: str) -> str:
    """``postgresql`` or ``sqlite``: the label of result files and README sections."""
    backend = make_url(database_url).get_backend_name()
    return "postgresql" if backend in ("postgresql", "postgres") else backend


def crm_command() -> list[str]:
    """The ``crm`` entry point of the interpreter running this script (the project's venv)."""
    script = Path(sys.executable).parent / "crm"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from crm.cli import main; main()"]
