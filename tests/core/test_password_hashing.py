"""The production password hasher: argon2id with at least the library's recommended cost."""

from __future__ import annotations

from argon2 import Type

from tests.conftest import PRODUCTION_HASHER


def test_production_hasher_is_argon2id_with_recommended_cost() -> None:
    assert PRODUCTION_HASHER.type is Type.ID
    assert PRODUCTION_HASHER.time_cost >= 2
    assert PRODUCTION_HASHER.memory_cost >= 19 * 1024  # OWASP's floor for argon2id, in KiB
    hashed = PRODUCTION_HASHER.hash("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert PRODUCTION_HASHER.verify(hashed, "correct horse battery")
