"""Every version Liftoff pins, with the end of its standard support and the page it was read from.

Versions go out of support on a calendar. Each pin below carries the date its source was read; the settings
refuse a cluster minor past its end of standard support (unless `liftoff:allowExtendedSupport`), and the
program warns (`make plan`, `pulumi preview`) when a pin in use ends within `WARN_DAYS`. Where a provider
answers at plan time, the program asks it instead of keeping a string here: the EKS managed add-ons take the
default version EKS gives for the cluster's minor (`aws.eks.get_addon_version`), GKE's release channel picks
the patch, AKS the newest patch of the minor.

To move a cloud to a new minor: add its row (end of standard support, source, date read), add the
cluster-autoscaler tag for AWS, check each chart's tested range below, then change the default in the
cloud's settings model and in Pulumi.yaml (tests/infra/test_versions.py holds these together).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WARN_DAYS = 60
READ = date(2026, 12, 2)
"""When every source below was last read."""


@dataclass(frozen=True)
class KubernetesPin:
    minor: str
    standard_support_ends: date
    """The first day the provider no longer gives this minor standard support."""
    source: str
    read: date = READ


EKS_VERSIONS = "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html"
AKS_VERSIONS = "https://learn.microsoft.com/en-us/azure/aks/supported-kubernetes-versions"
GKE_SCHEDULE = "https://cloud.google.com/kubernetes-engine/docs/release-schedule"

KUBERNETES: dict[str, dict[str, KubernetesPin]] = {
    # EKS: 14 months of standard support, then 12 of extended support billed per cluster hour.
    "aws": {
        "1.34": KubernetesPin("1.34", date(2026, 12, 2), EKS_VERSIONS),
        "1.35": KubernetesPin("1.35", date(2027, 3, 27), EKS_VERSIONS),
        # endoflife.date's products/amazon-eks.md (mirror of 2026-08-22), read 2026-12-07.
        "1.36": KubernetesPin("1.36", date(2027, 8, 2), EKS_VERSIONS, read=date(2026, 12, 7)),
    },
    # AKS: "End of life" in its calendar (the last day of the month named); then only platform support,
    # and no new cluster on that minor.
    "azure": {
        "1.34": KubernetesPin("1.34", date(2026, 12, 1), AKS_VERSIONS),
        "1.35": KubernetesPin("1.35", date(2027, 4, 1), AKS_VERSIONS),
        # 1.36: GA Jun 2026, end of life Jun 2027 (the calendar in MicrosoftDocs/azure-aks-docs
        # articles/aks/supported-kubernetes-versions.md, commit fb060ab of 2026-08-21, read 2026-12-04).
        "1.36": KubernetesPin("1.36", date(2027, 7, 1), AKS_VERSIONS, read=date(2026, 12, 4)),
    },
    # GKE: end of standard support (then maintenance, then auto-upgrade); REGULAR offers 1.33 to 1.36 now.
    # Dates: GKE's schedule as endoflife.date records it (products/google-kubernetes-engine.md, `eol` = end
    # of standard support, its mirror of 2026-08-22), read 2026-12-07.
    "gcp": {
        "1.34": KubernetesPin("1.34", date(2026, 10, 1), GKE_SCHEDULE, read=date(2026, 12, 7)),
        "1.35": KubernetesPin("1.35", date(2027, 4, 11), GKE_SCHEDULE, read=date(2026, 12, 7)),
        "1.36": KubernetesPin("1.36", date(2027, 8, 9), GKE_SCHEDULE, read=date(2026, 12, 7)),
    },
}
DEFAULT_MINOR = "1.35"
"""Each cloud's default cluster minor: in standard support on every cloud as of `READ`."""


@dataclass(frozen=True)
class ImagePin:
    tag: str
    source: str
    read: date = READ


AUTOSCALER_IMAGE_TAGS: dict[str, ImagePin] = {
    # cluster-autoscaler must match the cluster's minor (its README: "use the version meant for it").
    # Tags cluster-autoscaler-1.34.5 and -1.35.2 of github.com/kubernetes/autoscaler, both of 2026-07-22, the
    # newest patch of each minor in the mirror of 2026-08-22 (read 2026-12-07).
    "1.34": ImagePin(
        "v1.34.5",
        "https://github.com/kubernetes/autoscaler/releases/tag/cluster-autoscaler-1.34.5",
        read=date(2026, 12, 7),
    ),
    "1.35": ImagePin(
        "v1.35.2",
        "https://github.com/kubernetes/autoscaler/releases/tag/cluster-autoscaler-1.35.2",
        read=date(2026, 12, 7),
    ),
    # Tag cluster-autoscaler-1.36.1 of 2026-07-22, the newest 1.36 patch in the same mirror.
    "1.36": ImagePin(
        "v1.36.1",
        "https://github.com/kubernetes/autoscaler/releases/tag/cluster-autoscaler-1.36.1",
        read=date(2026, 12, 7),
    ),
}

CHART_KUBERNETES_RANGES: dict[str, tuple[str, str, str]] = {
    # chart name: (oldest, newest Kubernetes minor its project lists as tested, source)
    # KEDA 2.20: v1.33 - v1.35 in the compatibility table of keda.sh/docs/2.22/operate/cluster/ (read
    # 2026-12-04; 2.21 lists v1.34 - v1.36, but its chart is not in the kedacore/charts mirror read here).
    "keda": ("1.33", "1.35", "https://keda.sh/docs/2.20/operate/cluster/"),
}
"""Every cloud has a 1.36 row; before moving a default to 1.36, add its cluster-autoscaler tag and check each
chart's tested range."""


def minor_number(minor: str) -> int:
    return int(minor.split(".")[1])


def supported_minors(cloud: str, today: date, *, extended: bool) -> list[str]:
    """The minors a new cluster may take today: in standard support, or any pinned one when extended."""
    pins = KUBERNETES[cloud]
    return [minor for minor, pin in pins.items() if extended or today < pin.standard_support_ends]


def refusal(cloud: str, minor: str, today: date, *, extended: bool) -> str | None:
    """Why a cluster minor is refused today (None: it is fine), with the allowed ones."""
    pin = KUBERNETES[cloud].get(".".join(minor.split(".")[:2]))
    allowed = ", ".join(supported_minors(cloud, today, extended=extended))
    if pin is None:
        return f"{minor!r} is not a minor this program pins (infra/versions.py); allowed: {allowed}"
    if today >= pin.standard_support_ends and not extended:
        return (
            f"{minor} left standard support on {pin.standard_support_ends} ({pin.source}); allowed: {allowed}, "
            "or liftoff:allowExtendedSupport true to pay for extended support"
        )
    return None


def expiry_warnings(cloud: str, minor: str, today: date) -> list[str]:
    """Warnings for pins in use that end within WARN_DAYS, or whose tested range leaves out the minor."""
    warnings = []
    pin = KUBERNETES.get(cloud, {}).get(".".join(minor.split(".")[:2]))
    if pin is not None:
        days = (pin.standard_support_ends - today).days
        if days <= WARN_DAYS:
            when = f"in {days} days" if days > 0 else "already"
            warnings.append(
                f"Kubernetes {pin.minor} on {cloud} ends standard support {when} ({pin.standard_support_ends}, "
                f"{pin.source}): move to a newer minor"
            )
    for chart, (oldest, newest, source) in CHART_KUBERNETES_RANGES.items():
        if not minor_number(oldest) <= minor_number(minor) <= minor_number(newest):
            warnings.append(
                f"the {chart} chart is tested on Kubernetes {oldest} to {newest} ({source}), not {minor}"
            )
    return warnings
