"""schemathesis hooks (loaded with ``SCHEMATHESIS_HOOKS``): aim generated requests at real
records of the fuzzed org, and replay every request that reached one as other users.

The seeding test writes a JSON plan and names it in ``CRM_FUZZ_REPLAY_PLAN``:

- ``ids``: ``{path template: {parameter: {"keep": id, "doomed": id?}}}``, real records of org
  A. ``before_call`` puts them into the path of every case of the examples phase and of
  about half of the fuzzing cases (the other half keep their generated, mostly missing,
  ids). A DELETE gets the ``doomed`` record for its last parameter, so that deleting does
  not take the record the other operations aim at.
- ``other_org``: headers of org B's admin (a secret key of org B).
- ``user``: headers of a USER member of org A (access token + org header), who neither
  created nor is assigned to any of those records.
- ``protected``: ids the run depends on (org A's admin and USER profiles, the fuzzing key),
  which a case never names: a case drawing one, or a seeded id (schemathesis reuses ids
  from earlier answers), is always aimed at the seeded records instead.
- ``user_allowed``: operations a member may call on any record of the org (``METHOD path``),
  where the USER's replay is not made.

The check ``replayed_as_another_user_is_refused`` (enable it with ``--checks``): whenever
org A's admin got a 2xx on a case that names real records, the same request (method, path,
query, body) is sent as org B's admin, who must get exactly the answer a missing id gets
(the same request with fresh ids of the same form: status and body), and as the USER, who
must get the documented 403 ("not allowed") or the USER's own missing-id answer, never a
2xx. A DELETE is replayed *before* the admin's request (in ``before_call``), while the
record still exists; a replay that deleted it fails the check even though the admin's own
DELETE then answers 404.

Every replay is appended to ``CRM_FUZZ_REPLAY_LOG`` (one JSON object a line) for the test's
report.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import requests
import schemathesis

_PLAN: dict[str, Any] = json.loads(Path(os.environ["CRM_FUZZ_REPLAY_PLAN"]).read_text())
_LOG = Path(os.environ["CRM_FUZZ_REPLAY_LOG"])
_LOCK = threading.Lock()
_KNOWN = set(_PLAN["protected"]) | {
    value
    for params in _PLAN["ids"].values()
    for choice in params.values()
    for value in choice.values()
}
NOT_ALLOWED = "You do not have Permission to perform this action"

# case.id -> the real ids put into its path; case.id -> replays made before the call.
_AIMED: dict[str, list[str]] = {}
_EARLY: dict[str, list[Replay]] = {}


class Replay(NamedTuple):
    who: str  # "other_org" or "user"
    real: requests.Response
    missing: requests.Response  # the same request with fresh ids in place of the real ones
    swap: dict[str, str]  # real id -> the fresh id


def _phase(case: Any) -> str | None:
    meta = case.meta
    return None if meta is None else str(meta.phase.name.value)


def _aim(case: Any) -> list[str] | None:
    params = _PLAN["ids"].get(case.path)
    if not params or case.path_parameters is None:
        return None
    # schemathesis reuses ids it saw in earlier answers (GET /api/users/ lists the USER): a
    # case that drew a seeded record, or a member or key the run depends on, is always
    # aimed, so that it is replayed and a DELETE takes only the record meant for it.
    drawn = _KNOWN & {str(v) for v in case.path_parameters.values()}
    if _phase(case) != "examples" and not drawn:
        draw = repr(sorted((k, repr(v)) for k, v in case.path_parameters.items()))
        if zlib.crc32(draw.encode()) % 2:
            return None
    names = list(params)
    aimed = []
    for name in names:
        choice = params[name]
        doomed = case.method.upper() == "DELETE" and name == names[-1] and "doomed" in choice
        value = choice["doomed" if doomed else "keep"]
        case.path_parameters[name] = value
        aimed.append(value)
    return aimed


def _fresh(value: str) -> str:
    """A missing id of the same form (a UUID, or ``<kind>_<32 hex>``)."""
    if "_" in value:
        return value.rsplit("_", 1)[0] + "_" + uuid.uuid4().hex
    return str(uuid.uuid4())


def _send(case: Any, who: str, swap: dict[str, str]) -> requests.Response:
    kwargs = case.as_transport_kwargs(base_url=_PLAN["base"])
    headers = {
        key: value
        for key, value in (kwargs.get("headers") or {}).items()
        if key.lower() not in {"authorization", "organization-id"}
    }
    headers.update(_PLAN[who])
    kwargs["headers"] = headers
    kwargs.pop("auth", None)
    url = kwargs["url"]
    for real, other in swap.items():
        url = url.replace(real, other)
    kwargs["url"] = url
    timeout = kwargs.pop("timeout", None) or 30
    return requests.request(timeout=timeout, **kwargs)


def _replays(case: Any, aimed: list[str]) -> list[Replay]:
    missing = {value: _fresh(value) for value in aimed}
    who = ["other_org"]
    if f"{case.method.upper()} {case.path}" not in _PLAN["user_allowed"]:
        who.append("user")
    return [
        Replay(identity, _send(case, identity, {}), _send(case, identity, missing), missing)
        for identity in who
    ]


def _body(response: requests.Response, swap: dict[str, str]) -> Any:
    text = response.text
    for value, placeholder in swap.items():
        text = text.replace(value, placeholder)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _record(case: Any, admin_status: int | None, replay: Replay, problem: str | None) -> None:
    line = {
        "operation": f"{case.method.upper()} {case.path}",
        "phase": _phase(case),
        "admin": admin_status,
        "who": replay.who,
        "status": replay.real.status_code,
        "missing": replay.missing.status_code,
        "problem": problem,
    }
    with _LOCK, _LOG.open("a") as log:
        log.write(json.dumps(line) + "\n")


def _problem(replay: Replay) -> str | None:
    real, missing = replay.real, replay.missing
    if 200 <= real.status_code < 300:
        return f"{replay.who} got {real.status_code}: {real.text[:300]}"
    if any(value in real.text for value in replay.swap):
        return f"{replay.who}'s answer names the record: {real.text[:300]}"
    same = real.status_code == missing.status_code and _body(
        real, dict.fromkeys(replay.swap, "<id>")
    ) == _body(missing, dict.fromkeys(replay.swap.values(), "<id>"))
    if replay.who == "other_org":
        if not same:
            return (
                f"other org got {real.status_code} {real.text[:200]!r}, "
                f"a missing id gets {missing.status_code} {missing.text[:200]!r}"
            )
        return None
    if real.status_code == 403:
        errors = real.json().get("errors") if _is_json(real) else None
        error = real.json().get("error") if _is_json(real) else None
        stripe = isinstance(error, dict) and error.get("code") == "permission_denied"
        if errors == NOT_ALLOWED or (stripe and error.get("message") == NOT_ALLOWED):
            return None
        return f"the USER's 403 is not the documented one: {real.text[:300]}"
    if real.status_code == 404 and same:
        return None
    return (
        f"the USER got {real.status_code} {real.text[:200]!r} on a record hidden from them "
        f"(a missing id gets {missing.status_code})"
    )


def _is_json(response: requests.Response) -> bool:
    try:
        return isinstance(response.json(), dict)
    except ValueError:
        return False


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    aimed = _aim(case)
    if aimed is None:
        return
    _AIMED[case.id] = aimed
    if case.method.upper() == "DELETE":
        # Replayed first: after the admin's DELETE the record is gone and every answer is 404.
        _EARLY[case.id] = _replays(case, aimed)


@schemathesis.check
def replayed_as_another_user_is_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    """Org A's request that reached org A's records, replayed as org B's admin and as a
    USER of org A who may not see them, is refused like a missing id (or 403 for the USER)."""
    aimed = _AIMED.pop(case.id, None)
    if aimed is None:
        return None
    early = _EARLY.pop(case.id, None)
    succeeded = 200 <= response.status_code < 300
    if early is None:
        if not succeeded:
            return None
        replays = _replays(case, aimed)
    else:
        # A DELETE replay that succeeded is a leak whatever the admin got afterwards.
        replays = early
    problems = []
    for replay in replays:
        problem = _problem(replay)
        if not succeeded and not 200 <= replay.real.status_code < 300:
            continue  # the admin was refused too: nothing to compare with
        _record(case, response.status_code, replay, problem)
        if problem is not None:
            problems.append(problem)
    if problems:
        raise AssertionError(f"{case.method.upper()} {case.formatted_path}: " + "; ".join(problems))
    return None
