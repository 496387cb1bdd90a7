"""From a measured capacity to the stack's autoscaling settings."""

from pathlib import Path

import pytest

from lab.capacity.autoscaling import advise, config_keys, pulumi_commands


def test_replicas_are_the_target_rate_over_one_replicas_sustainable_rate_rounded_up() -> None:
    advice = advise(target_rate=1000.0, sustainable_rps=300.0, queue_depth=6.2)
    assert advice.max_replicas == 4
    assert advice.min_replicas == 1
    assert advice.target_queue_depth == 7


def test_the_floor_never_exceeds_what_the_target_rate_needs() -> None:
    assert advise(100.0, 300.0, None, min_replicas=3).min_replicas == 1


def test_no_sustainable_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="sustainable"):
        advise(100.0, 0.0, 1.0)


def test_pulumi_lines_use_the_keys_pulumi_yaml_declares(tmp_path: Path) -> None:
    pulumi_yaml = tmp_path / "Pulumi.yaml"
    pulumi_yaml.write_text(
        "name: liftoff\nruntime: python\nconfig:\n"
        "  liftoff:minReplicas:\n    type: integer\n    default: 1\n"
        "  maxReplicas:\n    type: integer\n    default: 3\n"
    )
    keys, note = config_keys(pulumi_yaml)
    assert keys == {
        "minReplicas": "liftoff:minReplicas",
        "maxReplicas": "liftoff:maxReplicas",
        "targetQueueDepth": "liftoff:targetQueueDepth",
    }
    assert "targetQueueDepth" in note
    lines = pulumi_commands(advise(1000.0, 300.0, 2.0), keys, stack="aws")
    assert lines == [
        "pulumi config set --stack aws liftoff:minReplicas 1",
        "pulumi config set --stack aws liftoff:maxReplicas 4",
        "pulumi config set --stack aws liftoff:targetQueueDepth 2",
    ]


def test_without_pulumi_yaml_the_keys_infra_settings_reads_are_used(tmp_path: Path) -> None:
    keys, note = config_keys(tmp_path / "Pulumi.yaml")
    assert keys["maxReplicas"] == "liftoff:maxReplicas"
    assert "not found" in note
