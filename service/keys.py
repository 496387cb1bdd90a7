"""The one rule for an API key, shared by the server's parser (service/auth.py) and the stack's check of
`liftoff:apiKeys` (infra/settings/edge.py): whatever the stack lets through, the server reads whole.

A key is printable ASCII without spaces, commas or `#`: a comma separates keys in LIFTOFF_API_KEYS, a line
starting with `#` is a comment in the key file, and whitespace is trimmed from both ends of an entry. An
entry that breaks the rule is refused, never cut down to a shorter key that would then be accepted.
Standard library only: the stack imports it without the server's dependencies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_KEY_LENGTH = 512
KEY_CHARACTERS = "printable ASCII without spaces, commas or '#'"
_KEY = re.compile(rf"[\x21\x22\x24-\x2b\x2d-\x7e]{{1,{MAX_KEY_LENGTH}}}")


def is_key(text: str) -> bool:
    return _KEY.fullmatch(text) is not None


@dataclass(frozen=True)
class ParsedKeys:
    keys: list[str]
    bad_entries: list[int]
    """1-based positions (lines, or comma-separated entries) that break the rule; never their text."""


def read_keys(text: str) -> ParsedKeys:
    """Keys from a key file's or LIFTOFF_API_KEYS's text: one per line or comma; blank entries and lines
    starting with `#` skipped."""
    keys: list[str] = []
    bad: list[int] = []
    entries = [entry.strip() for line in text.splitlines() for entry in line.split(",")]
    for position, entry in enumerate(entries, start=1):
        if not entry or entry.startswith("#"):
            continue
        if is_key(entry):
            keys.append(entry)
        else:
            bad.append(position)
    return ParsedKeys(keys, bad)
