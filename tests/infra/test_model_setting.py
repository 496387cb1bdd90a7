"""`liftoff:model`: a model directory of the user's checkout, built into the image and named by its model.json."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from infra.plan import run_stack
from infra.settings import ConfigSource, SettingsError, load_settings
from service.settings import Settings as ServerSettings
from tests.service.model.broken_models import BROKEN, LINEAR

EXAMPLE = "examples/image-classifier"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def trained_example() -> None:
    """The plan runs the model check, which loads model.pt: trained here (seeded, git-ignored) if missing."""
    if not (ROOT / EXAMPLE / "model.pt").is_file():
        done = subprocess.run(
            [sys.executable, "train.py", "--out", "."],
            cwd=ROOT / EXAMPLE,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def local_settings(model: str) -> object:
    return load_settings(ConfigSource.from_dict({"cloud": "local", "monitoring": False, "model": model}))


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


# Each cloud's stack file, registry and variant; one plan each (a subprocess, cached by run_stack).
CLOUD_REGISTRIES = {
    "aws": r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9-]+",
    "gcp": r"[a-z0-9-]+-docker\.pkg\.dev/[a-z0-9-]+/[a-z0-9-]+/[a-z0-9-]+",
    "azure": r"[a-z0-9]+\.azurecr\.io/[a-z0-9-]+",
}


@pytest.mark.slow
@pytest.mark.parametrize("stack", sorted(CLOUD_REGISTRIES))
def test_every_cloud_builds_the_model_in_and_deploys_it_by_digest_under_its_name(stack: str) -> None:
    plan = run_stack(stack, {"model": EXAMPLE})
    built = plan.one("docker-build:index:Image")
    assert built.inputs["context"]["named"] == {"model": {"location": EXAMPLE}}
    assert built.inputs["buildArgs"] == {"VARIANT": "cuda"}  # a GPU node pool on every cloud
    assert re.fullmatch(CLOUD_REGISTRIES[stack] + r"@sha256:[0-9a-f]{64}", server_image(plan))
    assert plan.outputs["url"].endswith("/v2/models/image-classifier/infer")


def test_make_plan_passes_set_on_as_the_documented_command_shows() -> None:
    """README and docs/your-model.md show `make plan STACK=dev SET=model=...`: it must reach --set."""
    done = subprocess.run(
        ["make", "-n", "plan", "STACK=dev", f"SET=model={EXAMPLE} replicas=2"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert f"--set 'model={EXAMPLE}' --set 'replicas=2'" in done.stdout
    for doc in ("README.md", "docs/your-model.md"):
        text = (Path(__file__).resolve().parents[2] / doc).read_text(encoding="utf-8")
        assert "make plan STACK=dev SET=model=" in text and "make plan STACK=dev --set" not in text


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
        ("../elsewhere", "has no model.json"),
        ("docs", "has no model.json"),
    ],
)
def test_a_bad_model_directory_names_the_key_and_what_is_allowed(value: str, words: str) -> None:
    with pytest.raises(SettingsError) as caught:
        local_settings(value)
    message = str(caught.value)
    assert (
        "liftoff:model" in message
        and words in message
        and "allowed: a directory holding model.json, as an absolute path or relative to the project"
        in message
    )


@pytest.mark.parametrize("how", ["absolute", "symlink"])
def test_a_model_directory_outside_the_project_is_built_from_where_it_is(tmp_path: Path, how: str) -> None:
    outside = tmp_path / "mine"
    shutil.copytree(ROOT / EXAMPLE, outside, ignore=shutil.ignore_patterns("__pycache__"))
    value = str(outside)
    if how == "symlink":
        (tmp_path / "link").symlink_to(outside)
        value = str(tmp_path / "link")
    plan = run_stack("dev", {"model": value})
    built = plan.one("docker-build:index:Image")
    assert built.inputs["context"]["named"] == {"model": {"location": str(outside)}}
    assert built.inputs["context"]["location"] == "."  # the project, for the Dockerfile and service/
    assert plan.outputs["url"].endswith("/v2/models/image-classifier/infer")


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_model_directory_that_would_not_serve_stops_the_plan_naming_why(tmp_path: Path, case: str) -> None:
    build, words = BROKEN[case]
    root = build(tmp_path / case)
    with pytest.raises(SettingsError) as caught:
        local_settings(str(root))
    assert "liftoff:model" in str(caught.value) and words in str(caught.value)


def test_the_pod_keeps_the_termination_message_where_the_server_writes_it(model_plan) -> None:  # type: ignore[no-untyped-def]
    (container,) = model_plan.k8s_object("Deployment", "inference")["spec"]["template"]["spec"]["containers"]
    assert container["terminationMessagePath"] == str(ServerSettings().termination_message_path)
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"


def model_copy(tmp_name: str, requirements: str) -> str:
    """A model directory inside the project, removed by the caller."""
    from infra.model_directory import REPO_ROOT

    root = REPO_ROOT / "out" / "test-models" / tmp_name
    root.mkdir(parents=True, exist_ok=True)
    (root / "model.json").write_text(json.dumps({**LINEAR, "name": "mine"}))
    torch.jit.save(torch.jit.script(torch.nn.Linear(3, 2)), str(root / "model.pt"))
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
