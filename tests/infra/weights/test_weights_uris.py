"""Weights named by URI (no upload, a grant on that prefix), the dev stack's endpoint and Secret, the
settings' errors, the plan's summary, and the manifest and upload plan themselves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.plan import PlanError, run_stack
from infra.weights.location import weights_location
from infra.weights.manifest import build_manifest
from infra.weights.upload import plan_upload
from tests.infra.weights.weights_models import CONFIG, MODEL, PREBUILT, ROOT, local_model, model_dir, sha


def server_env(plan: object) -> dict[str, object]:
    container = plan.k8s_object("Deployment", "inference")["spec"]["template"]["spec"]["containers"][0]  # type: ignore[attr-defined]
    return {item["name"]: item.get("value") for item in container["env"]}


def test_an_s3_uri_on_aws_uploads_nothing_and_grants_read_on_that_prefix() -> None:
    plan = run_stack(
        "aws",
        {**PREBUILT, "model": model_dir("remote-aws", "s3://team-models/llm/v3"), "weightsSize": "15Gi"},
    )
    assert not plan.by_type("aws:s3/bucket:Bucket") and not plan.by_type(
        "aws:s3/bucketObjectv2:BucketObjectv2"
    )
    statements = json.loads(
        plan.one("aws:iam/rolePolicy:RolePolicy", "weights-reader-read").inputs["policy"]
    )["Statement"]
    assert statements[0]["Resource"] == "arn:aws:s3:::team-models/llm/v3/*"
    assert server_env(plan)["LIFTOFF_WEIGHTS_URI"] == "s3://team-models/llm/v3/"
    assert plan.outputs["weightsSize"].startswith("15.0 GiB")


def test_a_gs_uri_on_gcp_grants_object_viewer_under_its_prefix() -> None:
    plan = run_stack(
        "gcp", {**PREBUILT, "model": model_dir("remote-gcp", "gs://team-models/llm/"), "weightsSize": "2Gi"}
    )
    assert not plan.by_type("gcp:storage/bucket:Bucket")
    grant = plan.one("gcp:storage/bucketIAMMember:BucketIAMMember").inputs
    assert grant["bucket"] == "team-models"
    assert (
        grant["condition"]["expression"]
        == 'resource.name.startsWith("projects/_/buckets/team-models/objects/llm/")'
    )


def test_an_az_uri_needs_the_containers_resource_id_and_grants_on_it() -> None:
    model = model_dir("remote-azure", "az://models/llm/")
    with pytest.raises(PlanError, match="liftoff:weightsBucket"):
        run_stack("azure", {**PREBUILT, "model": model, "weightsSize": "2Gi"})
    container = (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/data/providers/Microsoft.Storage/"
        "storageAccounts/teamdata/blobServices/default/containers/models"
    )
    plan = run_stack("azure", {**PREBUILT, "model": model, "weightsSize": "2Gi", "weightsBucket": container})
    grant = plan.one("azure-native:authorization:RoleAssignment", "weights-reader-blobs").inputs
    assert grant["scope"] == container and "StringStartsWith 'llm/'" in grant["condition"]
    assert server_env(plan)["AZURE_STORAGE_ACCOUNT_NAME"] == "teamdata"
    assert not plan.by_type("azure-native:storage:StorageAccount")


def test_a_uri_of_another_clouds_store_is_refused_naming_the_model() -> None:
    with pytest.raises(PlanError, match=r"liftoff:model: .*gs://elsewhere/x/ is not in S3"):
        run_stack(
            "aws", {**PREBUILT, "model": model_dir("wrong-store", "gs://elsewhere/x/"), "weightsSize": "1Gi"}
        )


def test_a_uri_without_a_declared_size_is_refused_naming_weights_size() -> None:
    with pytest.raises(PlanError, match="liftoff:weightsSize: is required"):
        run_stack("aws", {**PREBUILT, "model": model_dir("no-size", "s3://team-models/llm/")})


def test_dev_reads_an_s3_compatible_endpoint_with_the_users_secret_as_env_from() -> None:
    plan = run_stack(
        "dev",
        {
            **PREBUILT,
            "model": model_dir("remote-dev", "s3://models/llm/"),
            "weightsSize": "1Gi",
            "weightsEndpoint": "http://seaweedfs.storage.svc:8333",
            "weightsCredentialsSecret": "weights-credentials",
        },
    )
    container = plan.k8s_object("Deployment", "inference")["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "weights-credentials"}}]
    assert server_env(plan)["AWS_ENDPOINT_URL"] == "http://seaweedfs.storage.svc:8333"
    assert not any(item["name"].startswith("AWS_SECRET") for item in container["env"])
    egress = plan.k8s_object("NetworkPolicy", "inference")["spec"]["egress"]
    assert any(rule["ports"] == [{"port": 8333, "protocol": "TCP"}] for rule in egress)


def test_dev_without_the_secret_or_with_a_local_folder_is_refused() -> None:
    with pytest.raises(PlanError, match="liftoff:weightsCredentialsSecret: is required"):
        run_stack(
            "dev", {**PREBUILT, "model": model_dir("dev-no-secret", "s3://models/llm/"), "weightsSize": "1Gi"}
        )
    with pytest.raises(PlanError, match=r"liftoff:model: .*the dev stack uploads nothing"):
        run_stack("dev", {"model": local_model("dev-local")})


def test_the_dev_keys_are_refused_on_a_cloud_stack() -> None:
    with pytest.raises(PlanError, match="liftoff:weightsEndpoint: is for the dev stack only"):
        run_stack("aws", {"model": local_model("big"), "weightsEndpoint": "http://127.0.0.1:9000"})


def test_weights_keys_without_weights_in_model_json_are_refused() -> None:
    with pytest.raises(
        PlanError, match=r"liftoff:weightsSize: is set, but the model directory.s model\.json"
    ):
        run_stack("dev", {"weightsSize": "1Gi"})


def test_the_plan_prints_where_the_weights_live_and_their_total_size() -> None:
    model = local_model("big")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.plan",
            "--stack",
            "aws",
            "--set",
            f"model={model}",
            "--out",
            "out/plan/weights",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    total = 2 * len(MODEL) + len(CONFIG)
    assert "output weights: s3://" in done.stdout and "/big/" in done.stdout
    assert f"output weightsSize: 52.7 KiB ({total} bytes)" in done.stdout


def test_weights_location_gives_the_cost_estimate_the_place_and_total() -> None:
    local = weights_location(local_model("big"))
    assert local is not None and local.total_bytes == 2 * len(MODEL) + len(CONFIG)
    assert local.where.endswith("/big/weights (uploaded by pulumi up)")
    remote = weights_location(model_dir("remote-cost", "gs://b/p"), 5 * 1024**3)
    assert remote is not None and (remote.where, remote.total_bytes) == ("gs://b/p/", 5 * 1024**3)
    assert weights_location(None) is None


def test_a_folder_outside_the_model_directory_is_refused() -> None:
    from infra.config_keys import SettingsError

    with pytest.raises(SettingsError, match="outside the model directory"):
        weights_location(model_dir("escape", "../"))


def test_hashing_reads_each_file_once_per_run_and_the_upload_dedupes(tmp_path: object) -> None:
    from pathlib import Path

    from infra.weights import manifest as manifest_module

    folder = Path(str(tmp_path))
    (folder / "a.bin").write_bytes(MODEL)
    (folder / "b.bin").write_bytes(MODEL)
    (folder / "c.json").write_bytes(CONFIG)
    first = build_manifest(folder)
    cached = len(manifest_module._hashed)
    assert build_manifest(folder) == first and len(manifest_module._hashed) == cached
    plan = plan_upload(first, "m/")
    assert [plan.key(b) for b in plan.blobs] == sorted(f"m/blobs/{sha(x)}" for x in (MODEL, CONFIG))
    assert plan.manifest_key == "m/liftoff-weights.json" and plan.total_bytes == 2 * len(MODEL) + len(CONFIG)
    (folder / "c.json").write_bytes(CONFIG + b" ")
    assert plan_upload(build_manifest(folder), "m/").digest != plan.digest


def test_layout_writes_the_manifest_and_one_blob_per_content(tmp_path: object) -> None:
    from pathlib import Path

    from infra.weights.__main__ import main

    out = Path(str(tmp_path)) / "out"
    folder = ROOT / local_model("layout") / "weights"
    assert main(["layout", str(folder), str(out)]) == 0
    files = json.loads((out / "liftoff-weights.json").read_text())["files"]
    assert [f["path"] for f in files] == ["dup.bin", "extra/config.json", "model.safetensors"]
    assert sorted(p.name for p in (out / "blobs").iterdir()) == sorted({sha(MODEL), sha(CONFIG)})
    assert (out / "blobs" / sha(MODEL)).read_bytes() == MODEL
    assert main(["layout", str(folder / "missing"), str(out)]) == 2


def test_the_stacks_manifest_is_what_the_server_reads(tmp_path: Path) -> None:
    """One format, written by the stack and read by the fetch: every file comes back with its size, hash
    and content-addressed object."""
    from service.weights.manifest import parse_manifest

    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "model-00001.safetensors").write_bytes(b"\x01" * 1000)
    (tmp_path / "config.json").write_text("{}")
    written = build_manifest(tmp_path)
    read = parse_manifest(written.to_json().encode(), "liftoff-weights.json")
    assert [(f.path, f.size, f.sha256, f.key) for f in read.files] == [
        (f.path, f.size, f.sha256, f.object) for f in written.files
    ]
    assert read.total_bytes == written.total_bytes == 1002
