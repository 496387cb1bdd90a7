"""Settings: each wrong value fails with a message naming the key and what is allowed."""

from __future__ import annotations

import pytest

from infra.clouds.local.settings import LocalSettings
from infra.settings import ConfigSource, Settings, SettingsError, load_settings


def load(**values: object) -> Settings:
    """Monitoring off unless asked: with it, a Grafana password (a secret Output) is required."""
    return load_settings(ConfigSource.from_dict({"cloud": "local", "monitoring": False, **values}))


def test_defaults_give_a_cpu_deployment_on_the_local_cloud() -> None:
    settings = load()
    assert settings.cloud == "local"
    assert isinstance(settings.cloud_settings, LocalSettings)
    assert settings.gpu == 0
    assert settings.image_variant == "cpu"
    assert settings.image is None


def test_a_gpu_request_defaults_the_image_to_the_cuda_variant() -> None:
    assert load(gpu=1).image_variant == "cuda"
    assert load(gpu=1, imageVariant="cpu").image_variant == "cpu"


def test_grace_period_exceeds_prestop_plus_drain() -> None:
    settings = load(preStopSeconds=7, drainTimeoutSeconds=30)
    assert settings.termination_grace_s > 7 + 30


def test_values_typed_as_strings_are_parsed_like_pulumi_config() -> None:
    settings = load(gpu="2", monitoring="false", localGpuNodeSelector='{"gpu": "yes"}')
    assert settings.gpu == 2
    assert settings.monitoring is False
    assert settings.cloud_settings.gpu_node_selector == {"gpu": "yes"}
    # Pulumi.yaml types map-like keys as arrays of key=value strings.
    assert load(localGpuNodeSelector=["a=b", "c=d=e"]).cloud_settings.gpu_node_selector == {
        "a": "b",
        "c": "d=e",
    }


@pytest.mark.parametrize(
    ("values", "key", "allowed"),
    [
        ({"cloud": "openstack"}, "liftoff:cloud", "aws, gcp, azure, local"),
        ({"gpu": -1}, "liftoff:gpu", "0 to 16"),
        ({"gpu": "one"}, "liftoff:gpu", "whole number"),
        ({"minReplicas": 4, "maxReplicas": 2}, "liftoff:minReplicas", "at most liftoff:maxReplicas"),
        ({"minReplicas": -1}, "liftoff:minReplicas", "0 to 1000"),
        ({"idleMinutes": 0}, "liftoff:idleMinutes", "1 to 1440"),
        ({"idleMinutes": "soon"}, "liftoff:idleMinutes", "whole number"),
        ({"coldStartTimeoutSeconds": 5}, "liftoff:coldStartTimeoutSeconds", "10 to 3600"),
        ({"memoryRequest": "4GB"}, "liftoff:memoryRequest", "Ki, Mi, Gi"),
        ({"memoryLimit": "lots"}, "liftoff:memoryLimit", "Ki, Mi, Gi"),
        ({"memoryRequest": "4Gi", "memoryLimit": "2Gi"}, "liftoff:memoryLimit", "at least"),
        ({"cpuRequest": "half"}, "liftoff:cpuRequest", "millicores"),
        ({"cpuRequest": "2", "cpuLimit": "500m"}, "liftoff:cpuLimit", "at least"),
        ({"imageVariant": "rocm"}, "liftoff:imageVariant", "cpu, cuda"),
        ({"monitoring": "maybe"}, "liftoff:monitoring", "true, false"),
        ({"namespace": "Liftoff_NS"}, "liftoff:namespace", "DNS label"),
        ({"image": "Not An Image"}, "liftoff:image", "pattern"),
        ({"imageSource": "ghcr.io/example/liftoff:latest"}, "liftoff:imageSource", "pattern"),
        (
            {"image": "r.example/liftoff:1", "imageSource": "r.example/liftoff@sha256:" + "c" * 64},
            "liftoff:imageSource",
            "one of them",
        ),
        ({"dtype": "int8"}, "liftoff:dtype", "float32, float16, bfloat16"),
        ({"drainTimeoutSeconds": 0}, "liftoff:drainTimeoutSeconds", "1 to 3600"),
        # Server keys, derived from service/settings.py: the server's own ranges.
        ({"maxBatchSize": 65537, "queueLimit": 70000}, "liftoff:maxBatchSize", "1 to 65536"),
        ({"requestTimeoutSeconds": 3601}, "liftoff:requestTimeoutSeconds", "1 to 3600"),
        ({"logLevel": "trace"}, "liftoff:logLevel", "critical, error, warning, info, debug"),
        ({"workers": 65}, "liftoff:workers", "1 to 64"),
        ({"headerTimeoutSeconds": 0}, "liftoff:headerTimeoutSeconds", "1 to 3600"),
        ({"maxHeaderBytes": 100}, "liftoff:maxHeaderBytes", "1024"),
        ({"serverMaxBodyBytes": 10}, "liftoff:serverMaxBodyBytes", "greater than or equal to 1024"),
        ({"maxConnections": -1}, "liftoff:maxConnections", "0 or more"),
        ({"torchThreads": 2000}, "liftoff:torchThreads", "0 to 1024"),
        ({"decodeThreads": 0}, "liftoff:decodeThreads", "1 to 256"),
        ({"bodyTimeoutSeconds": "slow"}, "liftoff:bodyTimeoutSeconds", "whole number"),
        ({"targetCpuUtilization": 150}, "liftoff:targetCpuUtilization", "1 to 100"),
        ({"localGpuNodeSelector": "[1, 2]"}, "liftoff:localGpuNodeSelector", "map of strings"),
        ({"localImagePlatform": "windows/amd64"}, "liftoff:localImagePlatform", "linux/amd64, linux/arm64"),
    ],
)
def test_a_wrong_value_names_the_key_and_what_is_allowed(
    values: dict[str, object], key: str, allowed: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load(**values)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")
    assert allowed in str(caught.value)


def test_full_keys_of_other_namespaces_are_read_as_given() -> None:
    source = ConfigSource.from_dict({"gcp:project": "my-project", "gpu": " 2 ", "image": " "})
    assert source.get("gcp:project") == "my-project"
    assert source.get("gpu") == "2"
    assert source.get("image") is None  # empty counts as unset


def test_the_first_of_several_wrong_values_is_the_one_named() -> None:
    with pytest.raises(SettingsError) as caught:
        load(gpu=-1, dtype="int8")
    assert caught.value.key == "liftoff:gpu"


def test_a_batch_size_the_server_would_refuse_fails_the_plan_naming_the_key() -> None:
    """The server's own rule (service/settings.py): its queue must hold a full batch."""
    with pytest.raises(SettingsError) as caught:
        load(maxBatchSize=512)
    assert caught.value.key == "liftoff:queueLimit"
    assert "LIFTOFF_QUEUE_LIMIT (256)" in str(caught.value) and "LIFTOFF_MAX_BATCH_SIZE (512)" in str(
        caught.value
    )
    assert load(maxBatchSize=512, queueLimit=1024).server.max_batch_size == 512


@pytest.mark.parametrize(
    ("cloud", "values", "pool_key"),
    [
        ("aws", {"awsGpuMaxNodes": 2}, "liftoff:awsGpuMaxNodes"),
        ("azure", {"azureGpuMaxCount": 2}, "liftoff:azureGpuMaxCount"),
        (
            "gcp",
            {
                "gcpGpuNodesMax": 2,
                "gcp:project": "liftoff-example",
                "gcp:region": "us-central1",
                "gcp:zone": "us-central1-a",
                "gcpMasterAuthorizedNetworks": ["203.0.113.7/32"],
            },
            "liftoff:gcpGpuNodesMax",
        ),
    ],
)
def test_a_gpu_pool_without_room_for_the_rollouts_surge_pod_is_refused(
    cloud: str, values: dict[str, object], pool_key: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load(cloud=cloud, gpu=1, maxReplicas=2, **values)
    assert caught.value.key == "liftoff:maxReplicas"
    assert pool_key in str(caught.value) and "at most 1" in str(caught.value)
    assert load(cloud=cloud, gpu=1, maxReplicas=1, **values).max_replicas == 1
