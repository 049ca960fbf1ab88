"""Every test of this package gets its own attachment directory, to look into."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm.core.storage import LocalStorage


@pytest.fixture
def storage_dir(tmp_path: Path) -> Path:
    return tmp_path / "attachments"


@pytest.fixture
def app(app: Any, storage_dir: Path) -> Any:
    app.state.storage = LocalStorage(storage_dir)
    return app
