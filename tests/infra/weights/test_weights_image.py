"""The image never holds a local weights folder: the build gets the model directory without it, and new
weights leave the image's tag as it was (so `pulumi up` builds nothing for them)."""

from __future__ import annotations

import json
from pathlib import Path

from infra.plan import _run_cached, run_stack
from tests.infra.weights.weights_models import MODEL, ROOT, local_model, sha


def built(plan: object) -> dict[str, object]:
    image = plan.one("docker-build:index:Image")  # type: ignore[attr-defined]
    return dict(image.inputs)


def test_the_build_context_is_the_model_directory_without_its_weights() -> None:
    model = local_model("image-big")
    context = Path(ROOT / built(run_stack("aws", {"model": model}))["context"]["named"]["model"]["location"])  # type: ignore[index]
    assert context.is_relative_to(ROOT / "out" / "model-context")
    assert (context / "model.json").is_file()
    assert not (context / "weights").exists()
    assert (ROOT / model / "weights" / "model.safetensors").is_file()  # the user's directory is untouched


def test_new_weights_change_no_image_tag() -> None:
    model = local_model("image-tag")
    overrides = json.dumps({"model": model})
    before = built(_run_cached.__wrapped__("aws", overrides))["tags"]
    (ROOT / model / "weights" / "model.safetensors").write_bytes(MODEL + b"new")
    after_run = _run_cached.__wrapped__("aws", overrides)
    assert built(after_run)["tags"] == before
    # ...while the weights themselves are a new object.
    keys = {r.inputs["key"] for r in after_run.by_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    assert any(key.endswith(sha(MODEL + b"new")) for key in keys)
