"""The key file read while it is being rewritten, the one key rule the stack and the server share, and a
request carrying two Authorization headers."""

from __future__ import annotations

import json
import logging
import string
from pathlib import Path

import pytest

from infra.config_keys import SettingsError
from infra.plan import PlanError, run_stack
from infra.settings.edge import parse_api_keys
from service.auth import KeyStore
from service.keys import read_keys
from service.settings import Settings

KEY_A = "lk_alpha_0123456789abcdef"
KEY_B = "lk_bravo_fedcba9876543210"
HASHED = "Xk#9f2LqPz7vR1sT4wY"
ROW = {"instances": [[1.0, 2.0, 3.0]]}


def _recheck(store: KeyStore) -> None:
    store._next_check = 0.0  # the next request re-reads the file, as it would a second later


def test_an_empty_or_half_written_read_keeps_the_keys_in_force(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"{KEY_A}\n{KEY_B}\n")
    store = KeyStore(keys_file=keys_file)
    caplog.set_level(logging.WARNING)
    # An in-place rewrite seen at each step: truncated, then part of the new text, then whole.
    for text in ["", f"{KEY_A}\n{KEY_B[:5]}", f"{KEY_A}\nnot a key\n"]:
        keys_file.write_text(text)
        _recheck(store)
        assert store.accepts(KEY_A), repr(text)
        assert store.accepts(KEY_B), repr(text)
    assert "stay until it reads whole" in caplog.text
    assert KEY_B[:5] not in caplog.text and KEY_A not in caplog.text
    keys_file.write_text(f"{KEY_A}\n")
    _recheck(store)
    assert store.accepts(KEY_A) and not store.accepts(KEY_B)


def test_a_file_meant_to_be_empty_takes_effect_once_it_reads_the_same_twice(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"{KEY_A}\n")
    store = KeyStore(keys_file=keys_file)
    keys_file.write_text("# every key revoked\n")
    _recheck(store)
    assert store.accepts(KEY_A)
    _recheck(store)
    assert not store.accepts(KEY_A)


def test_a_hash_inside_a_key_is_never_read_as_a_shorter_key(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"{HASHED}\n{KEY_A}\n")
    store = KeyStore(keys_file=keys_file)
    assert not store.accepts("Xk")
    assert not store.accepts(HASHED)
    assert store.accepts(KEY_A)


@pytest.mark.parametrize("key", [HASHED, "comma,inside,the,key0", "a key with spaces inside"])
def test_the_stack_refuses_at_plan_time_a_key_the_server_cannot_read(key: str) -> None:
    with pytest.raises(PlanError) as caught:
        run_stack("dev", {"apiKeys": [key]})
    assert "liftoff:apiKeys" in str(caught.value)
    assert key not in str(caught.value)


def test_every_key_the_stack_accepts_the_server_reads_whole() -> None:
    for character in string.printable:
        key = "k" * 16 + character + "k" * 16
        try:
            accepted = parse_api_keys(json.dumps([key]))  # a YAML list in the stack file
        except SettingsError:  # the stack refuses it: the other half of the rule
            continue
        assert accepted == [key]
        assert read_keys(f"{key}\n").keys == [key], repr(character)
        assert read_keys(key).keys == [key], repr(character)


@pytest.mark.anyio
async def test_two_authorization_headers_are_refused_even_when_one_holds_a_key(
    serve, linear_model: Path
) -> None:
    async with serve(Settings(model_path=linear_model, api_keys=KEY_A)) as client:
        one = await client.post("/predict", json=ROW, headers={"authorization": f"Bearer {KEY_A}"})
        assert one.status_code == 200
        for pair in ([KEY_A, KEY_B], [KEY_B, KEY_A], [KEY_A, KEY_A]):
            headers = [("authorization", f"Bearer {key}") for key in pair]
            answer = await client.post("/predict", json=ROW, headers=headers)
            assert answer.status_code == 401, pair
            assert "one Authorization header" in answer.json()["error"]
