"""The gcp stack's preflight: credentials, the project and its APIs, the GKE minor on the release channel,
the GPU quota (regional and all-regions) and the GPU machine type in the pool's zones."""

from __future__ import annotations

from typing import Any

from infra.clouds.gcp.services import REQUIRED_APIS
from infra.clouds.gcp.settings import GcpSettings
from infra.preflight import Answer, Check, Runner, prices

QUOTA_PAGE = "https://console.cloud.google.com/iam-admin/quotas"
# Compute Engine's GPU quota metric per GKE accelerator type (the Compute Engine "GPU quota" table); Spot
# and preemptible VMs count against the PREEMPTIBLE_ metric of the same GPU instead.
GPU_QUOTA_METRICS = {
    "nvidia-tesla-t4": "NVIDIA_T4_GPUS",
    "nvidia-tesla-p4": "NVIDIA_P4_GPUS",
    "nvidia-tesla-p100": "NVIDIA_P100_GPUS",
    "nvidia-tesla-v100": "NVIDIA_V100_GPUS",
    "nvidia-l4": "NVIDIA_L4_GPUS",
    "nvidia-tesla-a100": "NVIDIA_A100_GPUS",
    "nvidia-a100-80gb": "NVIDIA_A100_80GB_GPUS",
    "nvidia-h100-80gb": "NVIDIA_H100_GPUS",
    "nvidia-h100-mega-80gb": "NVIDIA_H100_MEGA_GPUS",
    "nvidia-h200-141gb": "NVIDIA_H200_GPUS",
    "nvidia-b200": "NVIDIA_B200_GPUS",
    "nvidia-rtx-pro-6000": "NVIDIA_RTX_PRO_6000_GPUS",
}
ALL_REGIONS_METRIC = "GPUS_ALL_REGIONS"
"""A project-wide GPU quota on top of the regional one; new projects often start at 0."""


def checks(gcp: GcpSettings, run: Runner) -> list[Check]:
    project = ["--project", gcp.project, "--format=json"]
    accounts = run(["gcloud", "auth", "list", "--filter=status:ACTIVE", "--format=json"])
    active = [a.get("account", "?") for a in accounts.data or [] if isinstance(a, dict)]
    if not accounts.ok or not active:
        return [
            Check(
                "credentials",
                False,
                accounts.error or "gcloud has no active account",
                "gcloud auth login, and gcloud auth application-default login (what Pulumi reads), then rerun",
            )
        ]
    found = [Check("credentials", True, f"signed in as {active[0]}")]
    described = run(["gcloud", "projects", "describe", gcp.project, "--format=json"])
    state = (described.data or {}).get("lifecycleState")
    found.append(
        Check(
            f"project {gcp.project}",
            described.ok and state == "ACTIVE",
            f"{state}" if state else (described.error or "not found, or no access"),
            "set gcp:project to a project you can use (gcloud projects list), with billing enabled",
        )
    )
    found.append(_apis(gcp, run(["gcloud", "services", "list", "--enabled", *project])))
    found.append(_version(gcp, run))
    region = run(["gcloud", "compute", "regions", "describe", gcp.region, *project])
    found.append(_regional_quota(gcp, region))
    found.append(_all_regions_quota(gcp, run(["gcloud", "compute", "project-info", "describe", *project])))
    found.append(_offered(gcp, run, region))
    return found + prices.gcp_checks(gcp, run)


def _apis(gcp: GcpSettings, answer: Answer) -> Check:
    enabled = {s.get("config", {}).get("name") for s in answer.data or [] if isinstance(s, dict)}
    missing = [api for api in REQUIRED_APIS if api not in enabled]
    return Check(
        "APIs enabled",
        answer.ok and not missing,
        (f"missing {', '.join(missing)}" if missing else "all enabled")
        if answer.ok
        else (answer.error or "gcloud services list failed"),
        # `pulumi up` enables them too, but a freshly enabled API takes minutes to answer everywhere and the
        # first resources created right after it fail: enable them once, ahead.
        f"gcloud services enable {' '.join(missing or REQUIRED_APIS)} --project {gcp.project}",
    )


def _version(gcp: GcpSettings, run: Runner) -> Check:
    where = ["--zone", gcp.location] if gcp.zone is not None else ["--region", gcp.region]
    answer = run(
        ["gcloud", "container", "get-server-config", *where, "--project", gcp.project, "--format=json"]
    )
    channel: dict[str, Any] = next(
        (c for c in (answer.data or {}).get("channels", []) if c.get("channel") == gcp.release_channel), {}
    )
    offered = channel.get("validVersions", [])
    minors = sorted({".".join(v.split(".")[:2]) for v in offered}, key=lambda m: int(m.split(".")[1]))
    matching = [v for v in offered if v.startswith(f"{gcp.kubernetes_version}.")]
    return Check(
        f"GKE {gcp.kubernetes_version} on {gcp.release_channel} in {gcp.location}",
        answer.ok and bool(matching),
        f"offered ({matching[0]})"
        if matching
        else (answer.error or f"not offered; the channel has {minors}"),
        f"set liftoff:gcpKubernetesVersion to a minor the channel offers ({', '.join(minors) or '?'}), "
        "or liftoff:gcpReleaseChannel to a channel that offers it",
    )


def _quota_metric(gcp: GcpSettings) -> str | None:
    metric = GPU_QUOTA_METRICS.get(gcp.gpu_accelerator_type)
    return None if metric is None else ("PREEMPTIBLE_" + metric if gcp.gpu_spot else metric)


def _quota_check(gcp: GcpSettings, answer: Answer, metric: str | None, scope: str) -> Check:
    need = gcp.gpu_accelerator_count
    quotas = {q.get("metric"): q for q in (answer.data or {}).get("quotas", [])}
    quota = quotas.get(metric, {})
    limit, usage = float(quota.get("limit", 0)), float(quota.get("usage", 0))
    name = f"GPU quota {metric or gcp.gpu_accelerator_type} in {scope}"
    if metric is None:
        return Check(
            name, False, "no quota metric known for this accelerator", f"check it by hand: {QUOTA_PAGE}"
        )
    return Check(
        name,
        answer.ok and limit - usage >= need,
        f"{limit - usage:g} free of {limit:g}, one {gcp.gpu_machine_type} node needs {need}"
        if answer.ok
        else (answer.error or "no answer"),
        f"request at least {need + usage:g} of {metric} for {scope}: {QUOTA_PAGE}?project={gcp.project} "
        "(filter on the metric; new projects start at 0, approval can take a day)",
    )


def _regional_quota(gcp: GcpSettings, region: Answer) -> Check:
    return _quota_check(gcp, region, _quota_metric(gcp), gcp.region)


def _all_regions_quota(gcp: GcpSettings, project_info: Answer) -> Check:
    return _quota_check(gcp, project_info, ALL_REGIONS_METRIC, "all regions")


def _zone_name(zone: str) -> str:
    """`zone` is a name in some answers and a URL (`.../zones/us-central1-a`) in others."""
    return zone.rsplit("/", 1)[-1]


def _offered(gcp: GcpSettings, run: Runner, region: Answer) -> Check:
    if gcp.zone is not None:
        wanted = [gcp.zone]
    elif gcp.gpu_zones:
        wanted = list(gcp.gpu_zones)
    else:  # a regional pool without liftoff:gcpGpuZones lands in the region's zones
        wanted = sorted(_zone_name(z) for z in (region.data or {}).get("zones", []))
    machines = run(
        [
            "gcloud",
            "compute",
            "machine-types",
            "list",
            f"--filter=name={gcp.gpu_machine_type}",
            "--project",
            gcp.project,
            "--format=json",
        ]
    )
    accelerators = run(
        [
            "gcloud",
            "compute",
            "accelerator-types",
            "list",
            f"--filter=name={gcp.gpu_accelerator_type}",
            "--project",
            gcp.project,
            "--format=json",
        ]
    )
    with_machine = {_zone_name(m.get("zone", "")) for m in machines.data or [] if isinstance(m, dict)}
    with_gpu = {_zone_name(a.get("zone", "")) for a in accelerators.data or [] if isinstance(a, dict)}
    both = with_machine & with_gpu
    in_region = sorted(z for z in both if z.startswith(f"{gcp.region}-"))
    missing = [z for z in wanted if z not in both]
    answered = machines.ok and accelerators.ok
    return Check(
        f"{gcp.gpu_machine_type} with {gcp.gpu_accelerator_type} in {', '.join(wanted) or gcp.region}",
        answered and bool(wanted) and not missing,
        (f"not offered in {', '.join(missing)}" if missing else "offered")
        if answered
        else (machines.error or accelerators.error or "no answer"),
        f"zones of {gcp.region} that offer it: {', '.join(in_region) or 'none'}; set gcp:zone (zonal) or "
        "liftoff:gcpGpuZones (regional) to them, or pick another liftoff:gcpGpuMachineType or gcp:region",
    )
