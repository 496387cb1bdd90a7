"""The TorchServe tests' model store: the image and the text archive (tests/service/torchserve/archives.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.torchserve.archives import image_archive, text_archive


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per test module: `brightness.mar` and `sentiment.mar` in one folder."""
    work = tmp_path_factory.mktemp("archives")
    image_archive(work, work / "store")
    text_archive(work, work / "store")
    return work / "store"
