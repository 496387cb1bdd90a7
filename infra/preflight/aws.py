"""The aws stack's preflight: credentials, the EKS minor offered in the region, the GPU quota for the pool's
instance type, and the instance type offered in the region's zones."""

from __future__ import annotations

from infra.clouds.aws.settings import AwsSettings
from infra.preflight import Check, Runner, prices

QUOTA_PAGE = "https://console.aws.amazon.com/servicequotas/home/services/ec2/quotas"
# EC2's vCPU quotas for the GPU families (Service Quotas codes): on-demand and Spot, G/VT and P instances.
QUOTA_CODES = {
    ("G", False): ("L-DB2E81BA", "Running On-Demand G and VT instances"),
    ("G", True): ("L-3819A6DF", "All G and VT Spot Instance Requests"),
    ("P", False): ("L-417A185B", "Running On-Demand P instances"),
    ("P", True): ("L-7212CCBC", "All P Spot Instance Requests"),
}


def checks(aws: AwsSettings, run: Runner) -> list[Check]:
    region = ["--region", aws.region, "--output", "json"]
    identity = run(["aws", "sts", "get-caller-identity", *region])
    if not identity.ok:
        return [
            Check(
                "credentials",
                False,
                identity.error or "the AWS CLI found no credentials",
                "aws sso login (or aws configure), then rerun; AWS_PROFILE picks the profile",
            )
        ]
    found = [Check("credentials", True, f"signed in as {identity.data.get('Arn', '?')}")]
    found.append(_version(aws, run, region))
    pool = aws.gpu_pool
    if pool is not None:
        instance_type = pool.instance_types[0]
        found.append(_quota(aws, run, region, instance_type, pool.spot))
        found.append(_offered(aws, run, region, instance_type))
    return found + prices.aws_checks(aws, run)


def _version(aws: AwsSettings, run: Runner, region: list[str]) -> Check:
    answer = run(["aws", "eks", "describe-cluster-versions", *region])
    versions = {
        v.get("clusterVersion"): v.get("versionStatus")
        for v in (answer.data or {}).get("clusterVersions", [])
    }
    status = versions.get(aws.kubernetes_version)
    passed = answer.ok and status == "STANDARD_SUPPORT"
    return Check(
        f"EKS {aws.kubernetes_version} in {aws.region}",
        passed,
        f"offered, {status}" if status else (answer.error or "not offered"),
        f"set liftoff:awsKubernetesVersion to one in standard support: "
        f"{', '.join(sorted(v for v, s in versions.items() if s == 'STANDARD_SUPPORT')) or 'see the EKS console'}",
    )


def _quota(aws: AwsSettings, run: Runner, region: list[str], instance_type: str, spot: bool) -> Check:
    described = run(["aws", "ec2", "describe-instance-types", "--instance-types", instance_type, *region])
    types = (described.data or {}).get("InstanceTypes", [])
    vcpus = int(types[0]["VCpuInfo"]["DefaultVCpus"]) if types else 0
    code, title = QUOTA_CODES[("P" if instance_type.startswith("p") else "G", spot)]
    answer = run(
        ["aws", "service-quotas", "get-service-quota", "--service-code", "ec2", "--quota-code", code, *region]
    )
    limit = float(((answer.data or {}).get("Quota") or {}).get("Value", 0))
    passed = answer.ok and vcpus > 0 and limit >= vcpus
    return Check(
        f"GPU quota for {instance_type}",
        passed,
        f"{title}: {limit:g} vCPUs, one {instance_type} needs {vcpus or '?'}",
        f"request at least {vcpus or 'its'} vCPUs of '{title}' ({code}) in {aws.region}: {QUOTA_PAGE}/{code} "
        "(new accounts start at 0; approval can take a day)",
    )


def _offered(aws: AwsSettings, run: Runner, region: list[str], instance_type: str) -> Check:
    answer = run(
        [
            "aws",
            "ec2",
            "describe-instance-type-offerings",
            "--location-type",
            "availability-zone",
            "--filters",
            f"Name=instance-type,Values={instance_type}",
            *region,
        ]
    )
    zones = sorted(o.get("Location", "") for o in (answer.data or {}).get("InstanceTypeOfferings", []))
    return Check(
        f"{instance_type} offered in {aws.region}",
        answer.ok and bool(zones),
        f"in {', '.join(zones)}" if zones else (answer.error or "in no zone"),
        "pick another liftoff:awsGpuInstanceTypes or liftoff:awsRegion "
        "(aws ec2 describe-instance-type-offerings lists where each type runs)",
    )
