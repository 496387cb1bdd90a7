"""A schemathesis check for a server run with API keys and fuzzed without one (tests/lab/): every route but
the open ones (service/auth.py's PUBLIC_PATHS) answers 401 with the Bearer challenge, whatever the input.
Loaded by `st` through SCHEMATHESIS_HOOKS=lab.fuzz_checks."""

from __future__ import annotations

from typing import Any

import schemathesis

from service.auth import is_public


@schemathesis.check
def refused_without_a_key(ctx: Any, response: Any, case: Any) -> bool | None:
    path = case.formatted_path
    if is_public(path):
        return None
    challenge = response.headers.get("www-authenticate") or [""]
    if isinstance(challenge, list):
        challenge = challenge[0]
    if response.status_code != 401 or not str(challenge).startswith("Bearer"):
        raise AssertionError(f"{case.method} {path} answered {response.status_code} without a key, not 401")
    return None
