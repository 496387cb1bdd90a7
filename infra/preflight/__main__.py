"""python -m infra.preflight --stack <aws|gcp|azure>: each check with PASS/FAIL and its fix; exit 1 on a FAIL."""

from __future__ import annotations

import argparse
import sys

from infra.plan.config import stack_config
from infra.preflight import Check, Runner, run_cli
from infra.settings import ConfigSource, SettingsError, load_settings


def preflight(stack: str, run: Runner | None = None) -> list[Check]:
    """The stack's checks, asking `run` (default: the real CLIs) for each answer."""
    run = run or run_cli
    settings = load_settings(ConfigSource.from_dict(stack_config(stack)))
    if settings.cloud == "aws":
        from infra.clouds.aws.settings import AwsSettings
        from infra.preflight import aws

        return aws.checks(settings.cloud_settings_as(AwsSettings), run)
    if settings.cloud == "gcp":
        from infra.clouds.gcp.settings import GcpSettings
        from infra.preflight import gcp

        return gcp.checks(settings.cloud_settings_as(GcpSettings), run)
    if settings.cloud == "azure":
        from infra.clouds.azure.settings import AzureSettings
        from infra.preflight import azure

        return azure.checks(settings.cloud_settings_as(AzureSettings), run)
    return [
        Check(
            f"preflight for {settings.cloud}",
            False,
            "no cloud to ask: a kubeconfig stack's cluster is yours already",
            "run the preflight for aws, gcp or azure stacks",
        )
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.preflight", description=__doc__)
    parser.add_argument("--stack", required=True, help="aws, gcp or azure (its Pulumi.<stack>.yaml)")
    args = parser.parse_args(argv)
    try:
        found = preflight(args.stack)
    except SettingsError as error:
        print(f"[FAIL] settings: {error}", file=sys.stderr)
        return 1
    for check in found:
        print(check.line())
    return 0 if all(check.passed for check in found) else 1


if __name__ == "__main__":
    sys.exit(main())
