"""`python -m lab.capacity`: one replica's sustainable throughput at a p99 target on this machine, and the
autoscaling settings it implies for a target request rate, as `pulumi config set` lines."""

from __future__ import annotations

import argparse
import ssl
import sys
import tempfile
from pathlib import Path

from lab.api_keys import read_key
from lab.capacity.autoscaling import advise, config_keys, pulumi_commands
from lab.capacity.search import Capacity, StepResult, find_capacity
from lab.loadtest.digit_requests import ROUTES, inference_request
from lab.loadtest.runner import run_fast
from lab.ports import free_port
from lab.replicas import Replica, ReplicaError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lab.capacity", description=__doc__)
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="target requests/s for the fleet (default 1000)"
    )
    parser.add_argument("--p99-ms", type=float, default=100.0, help="p99 latency target in ms (default 100)")
    parser.add_argument("--url", help="measure this running server instead of starting one replica")
    parser.add_argument("--cacert", type=Path, help="with an https:// --url: trust this certificate")
    parser.add_argument(
        "--api-key-file", type=Path, help="with --url: send the first key in this file (the lab's api-keys)"
    )
    parser.add_argument("--step-seconds", type=float, default=5.0, help="seconds per load step (default 5)")
    parser.add_argument("--max-users", type=int, default=256, help="stop stepping here (default 256)")
    parser.add_argument("--min-replicas", type=int, default=1, help="the autoscaler's floor (default 1)")
    parser.add_argument("--route", default="predict", choices=ROUTES)
    parser.add_argument("--rows", type=int, default=1, help="rows per request (default 1)")
    parser.add_argument("--stack", help="add --stack to the printed pulumi commands")
    parser.add_argument(
        "--pulumi-yaml", type=Path, default=Path("Pulumi.yaml"), help="where the config keys live"
    )
    return parser.parse_args(argv)


def measure(args: argparse.Namespace, url: str) -> Capacity:
    api_key = read_key(args.api_key_file) if args.api_key_file else None
    tls = ssl.create_default_context(cafile=str(args.cacert)) if args.cacert else None
    request = inference_request(url, args.route, args.rows, api_key=api_key, tls=tls)
    print(f"stepping load on {url} (p99 target {args.p99_ms:g} ms, {args.step_seconds:g} s per step)")
    return run_fast(
        find_capacity(
            url,
            request,
            args.p99_ms,
            step_seconds=args.step_seconds,
            max_users=args.max_users,
            on_step=lambda step: print("  " + step.format(), flush=True),
        )
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rate <= 0 or args.p99_ms <= 0 or args.step_seconds <= 0 or args.min_replicas < 1:
        print(
            "python -m lab.capacity: --rate, --p99-ms and --step-seconds must be above 0, "
            "--min-replicas at least 1",
            file=sys.stderr,
        )
        return 2
    if args.url:
        try:
            capacity = measure(args, args.url.rstrip("/"))
        except (OSError, ValueError) as error:
            print(f"python -m lab.capacity: {error}", file=sys.stderr)
            return 2
    else:
        with tempfile.TemporaryDirectory(prefix="liftoff-capacity-") as workdir:
            replica = Replica("replica-0", free_port(), Path(workdir) / "replica-0.log")
            try:
                replica.start()
                replica.wait_ready(timeout_s=120.0)
                capacity = measure(args, f"http://127.0.0.1:{replica.port}")
            except ReplicaError as error:
                print(f"python -m lab.capacity: {error}", file=sys.stderr)
                return 1
            finally:
                replica.stop(timeout_s=30.0)
    return report(args, capacity)


def report(args: argparse.Namespace, capacity: Capacity) -> int:
    best: StepResult | None = capacity.sustainable
    if best is None:
        print(f"no step met p99 <= {args.p99_ms:g} ms without failures: loosen --p99-ms or check the server")
        return 1
    advice = advise(args.rate, best.rps, best.queue_depth, args.min_replicas)
    keys, note = config_keys(args.pulumi_yaml)
    print(
        f"\nsustainable: {best.rps:.0f} req/s per replica at {best.users} concurrent users "
        f"(p99 {best.p99_ms:.1f} ms <= {args.p99_ms:g} ms)\n"
        f"for {args.rate:g} req/s: ceil({args.rate:g} / {best.rps:.0f}) = {advice.max_replicas} replicas; "
        f"queue-depth target per pod {advice.target_queue_depth}"
        + (" (measured)" if best.queue_depth is not None else " (the server exports no liftoff_queue_depth)")
        + f"\n\n# {note}"
    )
    for line in pulumi_commands(advice, keys, args.stack):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
