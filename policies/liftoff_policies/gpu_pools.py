"""GPU node pools are tainted, so only GPU pods land there, and autoscaled, so they can sit at zero nodes."""

from __future__ import annotations

import re
from collections.abc import Iterator

from liftoff_policies.rule import Props, ResourceRule, dig

GPU_TAINT_KEY = "nvidia.com/gpu"
# EC2 instance families with NVIDIA GPUs.
AWS_GPU_FAMILY = re.compile(r"^(p\d+[a-z]*|g\d+[a-z]*|gr\d+)\.")
AUTOSCALER_TAGS = ("k8s.io/cluster-autoscaler/enabled",)


def _eks_is_gpu(props: Props) -> bool:
    ami = str(props.get("amiType") or "")
    types = props.get("instanceTypes") or []
    return "NVIDIA" in ami or "GPU" in ami or any(AWS_GPU_FAMILY.match(str(t)) for t in types)


def _eks(props: Props) -> Iterator[str]:
    if not _eks_is_gpu(props):
        return
    taints = props.get("taints") or []
    if not any(t.get("key") == GPU_TAINT_KEY and t.get("effect") == "NO_SCHEDULE" for t in taints):
        yield (
            f"The GPU node group has no `{GPU_TAINT_KEY}` NO_SCHEDULE taint: add it (and the matching toleration "
            "on GPU pods) so that ordinary pods never occupy an expensive GPU node."
        )
    scaling = props.get("scalingConfig") or {}
    if scaling.get("minSize") is None or scaling.get("maxSize") is None:
        yield "The GPU node group has no scalingConfig min/max: give it a range so the autoscaler can size it."
    tags = props.get("tags") or {}
    missing = [t for t in AUTOSCALER_TAGS if t not in tags]
    if missing:
        yield (
            f"The GPU node group lacks the cluster-autoscaler tags {missing}: without them the autoscaler "
            "never scales it, and it cannot start from zero nodes."
        )
    if scaling.get("minSize") == 0 and not any(
        k.startswith("k8s.io/cluster-autoscaler/node-template/") for k in tags
    ):
        yield (
            "The GPU node group starts at zero nodes but carries no `k8s.io/cluster-autoscaler/node-template/...` "
            "tags: add the GPU resource, label and taint templates so the autoscaler knows a node would fit."
        )


def _gke(props: Props) -> Iterator[str]:
    if not dig(props, "nodeConfig", "guestAccelerators"):
        return
    # GKE taints GPU nodes with nvidia.com/gpu itself, so only autoscaling is ours to require.
    autoscaling = props.get("autoscaling") or {}
    low = autoscaling.get("totalMinNodeCount", autoscaling.get("minNodeCount"))
    high = autoscaling.get("totalMaxNodeCount", autoscaling.get("maxNodeCount"))
    if low is None or high is None:
        yield (
            "The GPU node pool is not autoscaled: set `autoscaling` with a min (0 lets it cost nothing when idle) "
            "and a max."
        )


def _aks_pool(props: Props) -> Iterator[str]:
    if not str(props.get("vmSize") or "").startswith("Standard_N"):
        return
    taints = props.get("nodeTaints") or []
    if not any(str(t).startswith(f"{GPU_TAINT_KEY}=") and str(t).endswith(":NoSchedule") for t in taints):
        yield (
            f"The GPU agent pool has no `{GPU_TAINT_KEY}=...:NoSchedule` node taint: AKS adds none, so add it and "
            "the matching toleration on GPU pods."
        )
    if props.get("enableAutoScaling") is not True or props.get("minCount") is None:
        yield (
            "The GPU agent pool is not autoscaled: set `enableAutoScaling` with `minCount` (0 lets it cost nothing "
            "when idle) and `maxCount`."
        )


def check(resource_type: str, props: Props) -> Iterator[str]:
    if resource_type == "aws:eks/nodeGroup:NodeGroup":
        yield from _eks(props)
    elif resource_type == "gcp:container/nodePool:NodePool":
        yield from _gke(props)
    elif resource_type == "azure-native:containerservice:AgentPool":
        yield from _aks_pool(props)
    elif resource_type == "azure-native:containerservice:ManagedCluster":
        for pool in props.get("agentPoolProfiles") or []:
            yield from _aks_pool(pool)


RULE = ResourceRule(
    name="gpu-pools-tainted-and-autoscaled",
    description="GPU node pools carry the nvidia.com/gpu NoSchedule taint and are autoscaled (min 0 allowed).",
    check=check,
)
