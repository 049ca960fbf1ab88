"""Fixtures of the fault tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import fresh_database_url


@pytest.fixture
def committing_url() -> Iterator[str]:
    """A database of this test's own on the backend under test, migrated; it commits for
    real (no rolled-back test transaction), so other connections and processes see it."""
    with fresh_database_url() as url:
        yield url
