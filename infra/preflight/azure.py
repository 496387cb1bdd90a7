"""The azure stack's preflight: credentials and subscription, the resource providers, the AKS minor in the
location, the GPU VM size offered there without restriction, and its family's vCPU quota."""

from __future__ import annotations

from typing import Any

from infra.clouds.azure.settings import AzureSettings
from infra.preflight import Answer, Check, Runner, prices

QUOTA_PAGE = "https://portal.azure.com/#view/Microsoft_Azure_Capacity/QuotaMenuBlade/~/myQuotas"
PROVIDERS = (
    "Microsoft.ContainerService",
    "Microsoft.ContainerRegistry",
    "Microsoft.Network",
    "Microsoft.Compute",
)
"""Resource providers the stack's resources belong to; an unregistered one fails its first resource."""
SPOT_QUOTA = "lowPriorityCores"
"""Spot VMs count against the region's low-priority vCPUs, not their family's."""
REGIONAL_QUOTA = "cores"
"""Total regional vCPUs, which on-demand VMs count against besides their family's quota."""


def checks(azure: AzureSettings, run: Runner) -> list[Check]:
    account = run(["az", "account", "show", "-o", "json"])
    if not account.ok or not isinstance(account.data, dict):
        return [
            Check(
                "credentials",
                False,
                account.error or "the Azure CLI has no account",
                "az login (CI: azure/login with OIDC), then rerun",
            )
        ]
    user = (account.data.get("user") or {}).get("name", "?")
    found = [Check("credentials", True, f"signed in as {user}")]
    state = account.data.get("state")
    found.append(
        Check(
            f"subscription {account.data.get('name', '?')} ({account.data.get('id', '?')})",
            state == "Enabled",
            str(state),
            "az account set --subscription <id> to an enabled subscription (az account list)",
        )
    )
    found.append(_providers(run(["az", "provider", "list", "-o", "json"])))
    found.append(_version(azure, run))
    if azure.gpu_pool:
        location = ["--location", azure.location, "-o", "json"]
        skus = run(
            [
                "az",
                "vm",
                "list-skus",
                "--size",
                azure.gpu_vm_size,
                "--resource-type",
                "virtualMachines",
                *location,
            ]
        )
        sku = next(
            (s for s in skus.data or [] if isinstance(s, dict) and s.get("name") == azure.gpu_vm_size), None
        )
        found.append(_offered(azure, skus, sku))
        found.append(_quota(azure, run(["az", "vm", "list-usage", *location]), sku))
    return found + prices.azure_checks(azure, run)


def _providers(answer: Answer) -> Check:
    states = {
        p.get("namespace"): p.get("registrationState") for p in answer.data or [] if isinstance(p, dict)
    }
    missing = [p for p in PROVIDERS if states.get(p) != "Registered"]
    return Check(
        "resource providers registered",
        answer.ok and not missing,
        (f"not registered: {', '.join(missing)}" if missing else "all registered")
        if answer.ok
        else (answer.error or "az provider list failed"),
        "; ".join(f"az provider register --namespace {p} --wait" for p in missing or PROVIDERS),
    )


def _version(azure: AzureSettings, run: Runner) -> Check:
    minor = ".".join(azure.kubernetes_version.split(".")[:2])
    answer = run(["az", "aks", "get-versions", "--location", azure.location, "-o", "json"])
    values = (answer.data or {}).get("values", [])
    # KubernetesOfficial: community-supported; AKSLongTermSupport alone means Premium tier only.
    supported = [
        v.get("version", "")
        for v in values
        if not v.get("isPreview")
        and "KubernetesOfficial" in (v.get("capabilities") or {}).get("supportPlan", [])
    ]
    ours = next((v for v in values if v.get("version") == minor), None)
    patch_offered = ours is not None and (
        azure.kubernetes_version == minor or azure.kubernetes_version in (ours.get("patchVersions") or {})
    )
    return Check(
        f"AKS {azure.kubernetes_version} in {azure.location}",
        answer.ok and minor in supported and patch_offered,
        "offered, KubernetesOfficial"
        if minor in supported and patch_offered
        else (answer.error or "not offered in standard support"),
        f"set liftoff:azureKubernetesVersion to one offered: {', '.join(supported) or 'see az aks get-versions'}",
    )


def _vcpus(sku: dict[str, Any]) -> int:
    caps = {c.get("name"): c.get("value") for c in sku.get("capabilities", [])}
    return int(caps.get("vCPUs", 0))


def _offered(azure: AzureSettings, skus: Answer, sku: dict[str, Any] | None) -> Check:
    name = f"{azure.gpu_vm_size} offered in {azure.location}"
    fix = (
        "pick another liftoff:azureGpuVmSize or liftoff:azureLocation (az vm list-skus --location <region> "
        "--size Standard_NC -o table); NotAvailableForSubscription: ask for access through a support request"
    )
    if sku is None:
        return Check(name, False, skus.error or "not offered there", fix)
    blocked = [r.get("reasonCode", "?") for r in sku.get("restrictions", []) if r.get("type") == "Location"]
    zones = [z for info in sku.get("locationInfo", []) for z in info.get("zones", [])]
    return Check(
        name,
        skus.ok and not blocked,
        f"restricted: {', '.join(blocked)}" if blocked else f"offered (zones {', '.join(zones) or 'none'})",
        fix,
    )


def _quota(azure: AzureSettings, answer: Answer, sku: dict[str, Any] | None) -> Check:
    vcpus = _vcpus(sku) if sku else 0
    family = (sku or {}).get("family", "?")
    usages = {(u.get("name") or {}).get("value"): u for u in answer.data or [] if isinstance(u, dict)}
    wanted = [SPOT_QUOTA] if azure.gpu_spot else [family, REGIONAL_QUOTA]
    short = []
    for key in wanted:
        usage = usages.get(key, {})
        free = float(usage.get("limit", 0)) - float(usage.get("currentValue", 0))
        if free < vcpus or vcpus == 0:
            label = (usage.get("name") or {}).get("localizedValue", key)
            short.append(f"{label}: {free:g} vCPUs free")
    return Check(
        f"GPU quota for {azure.gpu_vm_size}",
        answer.ok and not short,
        (
            f"{'; '.join(short)}, one node needs {vcpus or '?'}"
            if short
            else f"room for one node ({vcpus} vCPUs)"
        )
        if answer.ok
        else (answer.error or "az vm list-usage failed"),
        f"request at least {vcpus or 'its'} vCPUs of {' and '.join(wanted)} in {azure.location}: {QUOTA_PAGE} "
        "(pay-as-you-go subscriptions start GPU families at 0; approval can take a day)",
    )
