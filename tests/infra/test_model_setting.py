"""`liftoff:model`: a model directory of the user's checkout, built into the image and named by its model.json."""

from __future__ import annotations

import re

import pytest

from infra.plan import run_stack
from infra.settings import ConfigSource, SettingsError, load_settings

EXAMPLE = "examples/image-classifier"


def server_image(plan) -> str:  # type: ignore[no-untyped-def]
    (container,) = plan.k8s_object("Deployment", "inference")["spec"]["template"]["spec"]["containers"]
    image: str = container["image"]
    return image


@pytest.fixture(scope="module")
def model_plan():  # type: ignore[no-untyped-def]
    return run_stack("dev", {"model": EXAMPLE})


def test_the_model_directory_is_the_builds_model_context(model_plan) -> None:  # type: ignore[no-untyped-def]
    built = model_plan.one("docker-build:index:Image")
    assert built.inputs["context"]["named"] == {"model": {"location": EXAMPLE}}
    assert built.inputs["buildArgs"] == {"VARIANT": "cpu"}
    assert re.fullmatch(r"localhost:5001/liftoff:cpu-[0-9a-f]{12}-[0-9a-f]{12}", built.inputs["tags"][0])
    assert re.fullmatch(r"localhost:5001/liftoff@sha256:[0-9a-f]{64}", server_image(model_plan))


def test_the_url_names_the_model_of_model_json(model_plan) -> None:  # type: ignore[no-untyped-def]
    assert model_plan.outputs["url"].endswith("/v2/models/image-classifier/infer")


def test_without_the_setting_the_build_has_no_model_context() -> None:
    built = run_stack("dev", {}).one("docker-build:index:Image")
    assert "named" not in built.inputs["context"]


def test_an_image_built_by_ci_with_the_model_is_deployed_under_its_name() -> None:
    source = "ghcr.io/example/liftoff@sha256:" + "c" * 64
    plan = run_stack("dev", {"model": "examples/text-classifier", "imageSource": source})
    assert plan.one("docker-build:index:Image").inputs["dockerfile"] == {"inline": f"FROM {source}\n"}
    assert plan.outputs["url"].endswith("/v2/models/text-classifier/infer")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("examples/nowhere", "has no model.json"),
        ("../elsewhere", "is outside the project"),
        ("docs", "has no model.json"),
    ],
)
def test_a_bad_model_directory_names_the_key_and_what_is_allowed(value: str, words: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(ConfigSource.from_dict({"cloud": "local", "monitoring": False, "model": value}))
    message = str(caught.value)
    assert (
        "liftoff:model" in message
        and words in message
        and "allowed: a directory inside the project" in message
    )


def model_copy(tmp_name: str, requirements: str) -> str:
    """A model directory inside the project (the setting refuses others), removed by the caller."""
    from infra.model_directory import REPO_ROOT

    root = REPO_ROOT / "out" / "test-models" / tmp_name
    root.mkdir(parents=True, exist_ok=True)
    (root / "model.json").write_text('{"name": "mine"}')
    (root / "requirements.txt").write_text(requirements)
    return root.relative_to(REPO_ROOT).as_posix()


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("torch==2.0.0", "line 2 ('torch==2.0.0') conflicts with the project's pin torch==2.13.0"),
        ("NumPy<2", "conflicts with the project's pin NumPy==2.4.6"),
        ("--index-url http://x", "is a pip option"),
        ("not a requirement!", "is not a requirement"),
    ],
)
def test_a_requirement_that_conflicts_with_the_pins_names_the_package(line: str, words: str) -> None:
    relative = model_copy("conflict", f"# comment\n{line}\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(ConfigSource.from_dict({"cloud": "local", "monitoring": False, "model": relative}))
    assert "liftoff:model" in str(caught.value) and words in str(caught.value)


def test_requirements_within_the_pins_or_unpinned_are_accepted() -> None:
    relative = model_copy("fine", "torch>=2.6\npillow\nsome-package-not-pinned==1.0\n")
    settings = load_settings(
        ConfigSource.from_dict({"cloud": "local", "monitoring": False, "model": relative})
    )
    assert settings.model_name == "mine"
