"""`python -m lab.loadtest`: a profile or explicit users, rate and duration against any URL."""

from __future__ import annotations

import argparse
import contextlib
import os
import ssl
import sys
from pathlib import Path

from lab.api_keys import read_key
from lab.loadtest.digit_requests import ROUTES, inference_request
from lab.loadtest.profiles import PROFILES, describe, plan_for
from lab.loadtest.runner import LoadSpec, run_fast, run_load, tty_progress


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lab.loadtest", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="base URL (default: the lab's)")
    parser.add_argument(
        "--profile",
        default="steady",
        choices=sorted(PROFILES),
        help="steady: fixed users; joe-and-friends: a ramp from 1 to --users; spike: a tenth, all, a tenth",
    )
    parser.add_argument("--users", type=int, default=32, help="peak concurrent users (default 32)")
    parser.add_argument("--rate", type=float, default=0.0, help="cap on total requests/s (default 0: no cap)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds (default 30)")
    parser.add_argument("--route", default="predict", choices=ROUTES, help="/predict or /v2/models/<m>/infer")
    parser.add_argument("--model", default="digits", help="model name for --route v2 (default digits)")
    parser.add_argument("--rows", type=int, default=1, help="rows per request (default 1)")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="per-request timeout in seconds (default 10)"
    )
    parser.add_argument(
        "--honor-retry-after", action="store_true", help="after a 503 + Retry-After, wait as a polite client"
    )
    parser.add_argument(
        "--retry-cut-off",
        type=int,
        default=0,
        help="resend a request whose answer was cut off, up to N times (counted in the report)",
    )
    parser.add_argument(
        "--cacert",
        type=Path,
        help="for https://: trust this certificate (the lab prints its own); default: the system's CAs",
    )
    parser.add_argument(
        "--api-key-file",
        type=Path,
        help="send the first key in this file as 'Authorization: Bearer'; default: $LIFTOFF_API_KEY, if set",
    )
    parser.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        plan = plan_for(args.profile, args.users, args.duration)
        api_key = read_key(args.api_key_file) if args.api_key_file else os.environ.get("LIFTOFF_API_KEY")
        tls = ssl.create_default_context(cafile=str(args.cacert)) if args.cacert else None
        request = inference_request(args.url, args.route, args.rows, args.model, api_key, tls)
    except (OSError, ValueError) as error:
        print(f"python -m lab.loadtest: {error}", file=sys.stderr)
        return 2
    if args.rate < 0:
        print(f"python -m lab.loadtest: rate: {args.rate} must be 0 (no cap) or above", file=sys.stderr)
        return 2
    print(
        f"{args.profile}: {'; '.join(describe(plan))}"
        + (f"; at most {args.rate:g} req/s" if args.rate else "")
    )
    spec = LoadSpec(
        args.url,
        request,
        plan,
        rate=args.rate or None,
        timeout_s=args.timeout,
        honor_retry_after=args.honor_retry_after,
        retry_cut_off=args.retry_cut_off,
    )
    progress = tty_progress if sys.stderr.isatty() else None
    with contextlib.suppress(KeyboardInterrupt):
        report = run_fast(run_load(spec, progress))
        if progress is not None:
            sys.stderr.write("\n")
        print(report.format())
        if args.json:
            args.json.write_text(report.to_json())
        return 0 if report.ok else 1
    return 130


if __name__ == "__main__":
    sys.exit(main())
