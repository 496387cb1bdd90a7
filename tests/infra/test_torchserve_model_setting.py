"""`liftoff:model` naming a TorchServe .mar: the plan imports it (by its contents), checks it with its sample
and builds the imported directory, under the archive's model name."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.model_directory import IMPORTED
from infra.plan import run_stack
from infra.settings import ConfigSource, SettingsError, load_settings
from tests.service.torchserve.archives import text_archive


def test_a_mar_is_imported_checked_and_built_under_its_model_name(tmp_path: Path) -> None:
    built = text_archive(tmp_path, tmp_path / "store")
    plan = run_stack("dev", {"model": str(built.mar)})
    context = plan.one("docker-build:index:Image").inputs["context"]["named"]["model"]["location"]
    imported = Path(context) if Path(context).is_absolute() else IMPORTED.parents[1] / context
    assert imported.parent == IMPORTED and imported.name.startswith("sentiment-")
    assert (imported / "archive" / "sentiment.pt").is_file()
    assert plan.outputs["url"].endswith("/v2/models/sentiment/infer")


def test_a_mar_without_a_sample_stops_the_plan_saying_what_to_add(tmp_path: Path) -> None:
    built = text_archive(tmp_path, tmp_path / "store")
    (tmp_path / "store" / "sentiment.sample.txt").unlink()
    with pytest.raises(SettingsError) as caught:
        load_settings(
            ConfigSource.from_dict({"cloud": "local", "monitoring": False, "model": str(built.mar)})
        )
    assert "liftoff:model" in str(caught.value) and "sample" in str(caught.value)
