"""The multipart/form-data splitter behind `/predict` form uploads (service/api/bodies.py)."""

from __future__ import annotations

import httpx
import pytest

from service.api.bodies import form_parts
from service.api.errors import ApiError


def _encoded(
    files: dict[str, tuple[str, bytes, str]], data: dict[str, str] | None = None
) -> tuple[str, bytes]:
    """A form exactly as httpx (the tests' client, and curl's format) writes it."""
    request = httpx.Request("POST", "http://test/predict", files=files, data=data)
    return request.headers["content-type"], request.read()


def test_each_named_part_keeps_its_bytes_exactly() -> None:
    awkward = b"\r\n--not-the-boundary\r\n\r\n\x00\xff" * 3  # CRLFs and dashes inside a file are its own
    header, body = _encoded({"image": ("a.png", awkward, "image/png")}, {"note": "héllo"})
    assert form_parts(header, body) == {"image": awkward, "note": "héllo".encode()}


def test_name_is_not_read_from_filename_and_quoted_boundaries_work() -> None:
    body = (
        b'preamble\r\n--a b\r\nContent-Disposition: form-data; filename="x"; name=first\r\n\r\n1\r\n'
        b'--a b\r\ncontent-disposition: form-data; name="second"\r\n\r\n\r\n--a b--\r\nepilogue'
    )
    assert form_parts('multipart/form-data; boundary="a b"', body) == {"first": b"1", "second": b""}


@pytest.mark.parametrize(
    ("header", "body", "message"),
    [
        ("multipart/form-data", b"--x\r\n\r\n", "no boundary parameter"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nab',
            "ends",
        ),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition", "ends"),
    ],
)
def test_a_broken_form_is_a_400_saying_what_is_wrong(header: str, body: bytes, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        form_parts(header, body)
    assert caught.value.status == 400 and message in caught.value.message


def test_a_body_without_the_boundary_has_no_parts() -> None:
    assert form_parts("multipart/form-data; boundary=x", b"just bytes") == {}
