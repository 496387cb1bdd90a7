"""Each cloud stack under mocks with a model whose weights are a local folder: a private, encrypted bucket;
the files uploaded content-addressed with the manifest; a read-only grant on the prefix for the identity the
pods' ServiceAccount is tied to; and no credential in any env var or Secret."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.plan import Plan, PlannedResource, run_stack
from infra.settings import Settings
from infra.weights import WEIGHTS_DIR
from tests.infra.weights.weights_models import CONFIG, MODEL, local_model, sha

CLOUDS = ("aws", "gcp", "azure")
BLOB_TYPES = {
    "aws": "aws:s3/bucketObjectv2:BucketObjectv2",
    "gcp": "gcp:storage/bucketObject:BucketObject",
    "azure": "azure-native:storage:Blob",
}
KEY_FIELD = {"aws": "key", "gcp": "name", "azure": "blobName"}
CREDENTIAL_NAMES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_APPLICATION_CREDENTIALS",
)

STORAGE_SECRET = re.compile(r"(?i)access.?key|secret.?access|sas|connection.?string|account.?key|credential")


@pytest.fixture(scope="module")
def model() -> str:
    return local_model("big")


@pytest.fixture(scope="module", params=CLOUDS)
def cloud_plan(request: pytest.FixtureRequest, model: str) -> tuple[str, Plan]:
    return request.param, run_stack(request.param, {"model": model})


def blobs(cloud: str, plan: Plan) -> list[PlannedResource]:
    return [r for r in plan.by_type(BLOB_TYPES[cloud]) if r.name.startswith("weights-blob-")]


def server(plan: Plan) -> dict[str, Any]:
    container: dict[str, Any] = plan.k8s_object("Deployment", "inference")["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


def env(plan: Plan) -> dict[str, Any]:
    return {item["name"]: item.get("value") for item in server(plan)["env"]}


def test_every_distinct_file_is_uploaded_once_under_its_sha256(cloud_plan: tuple[str, Plan]) -> None:
    cloud, plan = cloud_plan
    uploaded = {r.inputs[KEY_FIELD[cloud]]: r for r in blobs(cloud, plan)}
    # model.safetensors and dup.bin hold the same bytes: one object.
    assert set(uploaded) == {f"big/blobs/{sha(MODEL)}", f"big/blobs/{sha(CONFIG)}"}
    for key, resource in uploaded.items():
        digest = key.rsplit("/", 1)[1]
        assert resource.name == f"weights-blob-{digest[:32]}"
        assert resource.inputs["metadata"] == {"sha256": digest}


def test_the_manifest_lists_every_file_with_size_sha256_and_object(cloud_plan: tuple[str, Plan]) -> None:
    cloud, plan = cloud_plan
    manifest = plan.one(BLOB_TYPES[cloud], "weights-manifest")
    assert manifest.inputs[KEY_FIELD[cloud]] == "big/liftoff-weights.json"
    # The plan shows the text where the provider keeps it plain (gcp marks `content` secret, azure takes an asset).
    if cloud == "aws":
        files = json.loads(manifest.inputs["content"])["files"]
        assert files == [
            {"path": "dup.bin", "size": len(MODEL), "sha256": sha(MODEL), "object": f"blobs/{sha(MODEL)}"},
            {
                "path": "extra/config.json",
                "size": len(CONFIG),
                "sha256": sha(CONFIG),
                "object": f"blobs/{sha(CONFIG)}",
            },
            {
                "path": "model.safetensors",
                "size": len(MODEL),
                "sha256": sha(MODEL),
                "object": f"blobs/{sha(MODEL)}",
            },
        ]


def test_the_pod_reads_the_uploaded_prefix_into_a_sized_volume(cloud_plan: tuple[str, Plan]) -> None:
    cloud, plan = cloud_plan
    uri = plan.outputs["weights"]
    assert uri.startswith({"aws": "s3://", "gcp": "gs://", "azure": "az://"}[cloud]) and uri.endswith("/big/")
    assert env(plan)["LIFTOFF_WEIGHTS_URI"] == uri
    assert env(plan)["LIFTOFF_WEIGHTS_DIR"] == WEIGHTS_DIR
    spec = plan.k8s_object("Deployment", "inference")["spec"]["template"]["spec"]
    volume = next(v for v in spec["volumes"] if v["name"] == "weights")
    assert volume["emptyDir"]["sizeLimit"].endswith("Mi")
    assert {"name": "weights", "mountPath": WEIGHTS_DIR} in server(plan)["volumeMounts"]
    assert str(2 * len(MODEL) + len(CONFIG)) in plan.outputs["weightsSize"]


def test_the_bucket_is_private_and_encrypted(cloud_plan: tuple[str, Plan]) -> None:
    cloud, plan = cloud_plan
    if cloud == "aws":
        block = plan.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
        assert all(
            block[k] is True
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
        sse = plan.one(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
        assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
        policy = json.loads(plan.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
        assert policy["Statement"][0]["Effect"] == "Deny"
    elif cloud == "gcp":
        bucket = plan.one("gcp:storage/bucket:Bucket").inputs
        assert bucket["uniformBucketLevelAccess"] is True and bucket["publicAccessPrevention"] == "enforced"
    else:
        account = plan.one("azure-native:storage:StorageAccount").inputs
        assert account["allowBlobPublicAccess"] is False and account["minimumTlsVersion"] == "TLS1_2"
        assert account["encryption"]["requireInfrastructureEncryption"] is True
        assert plan.one("azure-native:storage:BlobContainer").inputs["publicAccess"] == "None"


def test_the_pods_identity_reads_the_prefix_only(cloud_plan: tuple[str, Plan]) -> None:
    cloud, plan = cloud_plan
    if cloud == "aws":
        statements = json.loads(
            plan.one("aws:iam/rolePolicy:RolePolicy", "weights-reader-read").inputs["policy"]
        )["Statement"]
        assert {a for s in statements for a in s["Action"]} == {"s3:GetObject", "s3:ListBucket"}
        assert statements[0]["Resource"].endswith("/big/*")
        assert statements[1]["Condition"] == {"StringLike": {"s3:prefix": ["big/*"]}}
    elif cloud == "gcp":
        grant = plan.one("gcp:storage/bucketIAMMember:BucketIAMMember").inputs
        assert grant["role"] == "roles/storage.objectViewer"
        assert grant["condition"]["expression"].endswith('/objects/big/")')
    else:
        grant = plan.one("azure-native:authorization:RoleAssignment", "weights-reader-blobs").inputs
        assert grant["roleDefinitionId"].endswith("/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")
        assert "StringStartsWith 'big/'" in grant["condition"] and grant["conditionVersion"] == "2.0"
        # On the container itself (the mocks' ids are `<resource name>-id`), not the account or group.
        assert grant["scope"] == "weights-store-weights-id"


def test_the_pods_service_account_is_the_one_the_identity_trusts(cloud_plan: tuple[str, Plan]) -> None:
    cloud, plan = cloud_plan
    template = plan.k8s_object("Deployment", "inference")["spec"]["template"]
    account = plan.k8s_object("ServiceAccount", template["spec"]["serviceAccountName"])
    namespace = account["metadata"]["namespace"]
    name = account["metadata"]["name"]
    annotations = account["metadata"].get("annotations") or {}
    if cloud == "aws":
        association = plan.one(
            "aws:eks/podIdentityAssociation:PodIdentityAssociation", "weights-pod-identity"
        ).inputs
        assert (association["namespace"], association["serviceAccount"]) == (namespace, name)
        role = plan.one("aws:iam/role:Role", "weights-reader").inputs
        assert "pods.eks.amazonaws.com" in role["assumeRolePolicy"]
    elif cloud == "gcp":
        trust = plan.one("gcp:serviceaccount/iAMMember:IAMMember", "weights-reader-workload-identity").inputs
        assert trust["role"] == "roles/iam.workloadIdentityUser"
        assert trust["member"].endswith(f".svc.id.goog[{namespace}/{name}]")
        email = annotations["iam.gke.io/gcp-service-account"]
        assert (
            plan.one("gcp:storage/bucketIAMMember:BucketIAMMember").inputs["member"]
            == f"serviceAccount:{email}"
        )
    else:
        federation = plan.one("azure-native:managedidentity:FederatedIdentityCredential").inputs
        assert federation["subject"] == f"system:serviceaccount:{namespace}:{name}"
        assert federation["audiences"] == ["api://AzureADTokenExchange"]
        assert annotations["azure.workload.identity/client-id"]
        assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"


def test_no_credential_in_any_env_var_or_secret(cloud_plan: tuple[str, Plan]) -> None:
    _, plan = cloud_plan
    for obj in plan.k8s_objects():
        text = json.dumps(obj)
        for name in CREDENTIAL_NAMES:
            assert name not in text, f"{obj['kind']} {obj['metadata']['name']} names {name}"
        assert "sig=" not in text and "AccountKey=" not in text and "SharedAccessSignature" not in text
        if obj["kind"] == "Secret":
            keys = set(obj.get("stringData", {}) | obj.get("data", {}))
            assert not {k for k in keys if STORAGE_SECRET.search(k)}, obj["metadata"]["name"]
    assert "envFrom" not in server(plan)


def test_the_same_weights_again_register_the_same_resources(model: str) -> None:
    """What `pulumi up` diffs: a second run of the program with unchanged files registers every weights
    resource with the same name and inputs, so nothing is uploaded again."""
    from infra.plan import _run_cached

    def weights_resources(plan: Plan) -> list[tuple[str, str, str]]:
        # Sorted: the engine matches resources by URN, whatever order the program registers them in.
        return sorted(
            (r.type, r.name, json.dumps(r.inputs, sort_keys=True))
            for r in plan.resources
            if r.name.startswith("weights") or r.name == "inference-deployment"
        )

    first = weights_resources(run_stack("aws", {"model": model}))
    again = weights_resources(_run_cached.__wrapped__("aws", json.dumps({"model": model})))  # not the cache
    assert len(first) > 8 and again == first


def test_a_changed_file_is_a_new_object_and_the_unchanged_ones_stay(model: str) -> None:
    before = run_stack("aws", {"model": model})
    changed = local_model("big2", {"model.safetensors": MODEL + b"!", "extra/config.json": CONFIG})
    after = run_stack("aws", {"model": changed, "weightsPrefix": "big"})
    old = {r.name: r.inputs["key"] for r in blobs("aws", before)}
    new = {r.name: r.inputs["key"] for r in blobs("aws", after)}
    unchanged = f"weights-blob-{sha(CONFIG)[:32]}"
    assert new[unchanged] == old[unchanged] == f"big/blobs/{sha(CONFIG)}"
    assert set(new) - set(old) == {f"weights-blob-{sha(MODEL + b'!')[:32]}"}
    version = "liftoff.dev/weights-version"

    def annotation(plan: Plan) -> str:
        return str(
            plan.k8s_object("Deployment", "inference")["spec"]["template"]["metadata"]["annotations"][version]
        )

    assert annotation(before) != annotation(after)  # new weights roll the pods


def test_startup_probe_allows_for_the_fetch() -> None:
    small = run_stack("aws", {"model": local_model("big")})  # the same image or not, the probe is the test
    uri_model = "s3://weights-elsewhere/llm/v3/"
    from tests.infra.weights.weights_models import PREBUILT, model_dir

    large = run_stack("aws", {**PREBUILT, "model": model_dir("remote", uri_model), "weightsSize": "100Gi"})
    small_threshold = server(small)["startupProbe"]["failureThreshold"]
    large_threshold = server(large)["startupProbe"]["failureThreshold"]
    period = server(large)["startupProbe"]["periodSeconds"]
    # 100 GiB at the conservative 50 MB/s is over 2,100 s on top of the model's own startup allowance.
    allowance = Settings.model_fields["startup_timeout_s"].default
    assert large_threshold * period >= allowance + 100 * 1024**3 // (50 * 1000**2)
    assert small_threshold * period < allowance + 10
    storage = server(large)["resources"]["limits"]["ephemeral-storage"]
    assert int(storage.removesuffix("Mi")) > 100 * 1024
