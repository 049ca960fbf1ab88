"""The real Google verifier refuses tokens no HTTP header can carry, before any network
I/O: a 401 for the caller, never a 500 (found by schemathesis)."""

from __future__ import annotations

import pytest

from crm.auth.google import GoogleUserinfoVerifier


@pytest.mark.parametrize("token", ["a\nb", "token\r\nX-Evil: 1", "caf\u00e9\u2028", "\x00"])
async def test_unsendable_tokens_are_not_accepted(token: str) -> None:
    assert await GoogleUserinfoVerifier(timeout=0.5).verify(token) is None
