"""python -m infra.plan --stack <stack> [--out DIR]: the offline plan (see infra/plan/__init__.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from infra.plan.config import StackNotFoundError, stack_config, to_config_string
from infra.settings import SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.plan", description=__doc__)
    parser.add_argument(
        "--stack", required=True, help="a stack with a Pulumi.<stack>.yaml: dev, aws, gcp, azure"
    )
    parser.add_argument("--out", type=Path, help="folder for the manifests (default: out/plan/<stack>)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    parser.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    overrides = dict(json.loads(args.overrides))
    overrides.update(item.split("=", 1) for item in args.set)
    try:
        config = stack_config(args.stack)
        config.update({_full_key(k): to_config_string(v) for k, v in overrides.items()})
        from infra.plan.execute import execute  # imports pulumi: only once the config is known to be there

        plan = execute(args.stack, config)
    except (SettingsError, StackNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    if args.json:
        args.json.write_text(plan.to_json())
    if not args.quiet:
        from infra.plan.render import cost_report, table, write

        out = args.out or Path("out") / "plan" / args.stack
        written = write(plan, out)
        print(table(plan))
        print()
        print(cost_report(plan, config.get("liftoff:model") or None))
        print(f"\nwrote {len(written)} files under {out}")
    return 0


def _full_key(key: str) -> str:
    return key if ":" in key else f"liftoff:{key}"


if __name__ == "__main__":
    sys.exit(main())
