"""python -m infra.costs readme [--check]: rewrite README's cost table from the plans (or check it)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from infra.costs import readme
from infra.plan import run_stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.costs", description=__doc__)
    parser.add_argument("what", choices=["readme"])
    parser.add_argument(
        "--check", action="store_true", help="fail when README.md's table is not the generated one"
    )
    args = parser.parse_args(argv)
    current = readme.README.read_text()
    wanted = readme.rewrite(current, readme.table(lambda s, o: run_stack(s, o), dt.date.today()))
    if args.check:
        if wanted != current:
            print("README.md's cost table is out of date: run python -m infra.costs readme", file=sys.stderr)
            return 1
        return 0
    readme.README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
