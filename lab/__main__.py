"""`python -m lab`: N replicas behind HAProxy on 127.0.0.1 until SIGTERM or Ctrl-C.

SIGHUP to the lab replaces the replicas one by one (a rolling update); `kill -9` on a replica shows
self-healing. `--min-replicas 0 --max-replicas 3 --idle-seconds 30` scales to zero: no replica runs until
a request comes, which HAProxy holds while the lab starts one.

By default HAProxy speaks TLS with a certificate the lab makes at start, and the replicas require the API key
the lab writes to its key file; `--no-tls` and `--no-auth` turn either off for a plain run.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from lab.api_keys import read_key
from lab.proxy import ProxyError
from lab.replicas import ReplicaError
from lab.supervisor import Lab, LabConfig
from lab.tls import CertificateError

log = logging.getLogger("lab")


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.startswith("LIFTOFF_"):
        raise argparse.ArgumentTypeError(f"--env {text!r}: expected LIFTOFF_NAME=value")
    return key, value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    parser.add_argument("--replicas", type=int, default=3, help="server processes (default 3)")
    parser.add_argument(
        "--max-replicas",
        type=int,
        default=None,
        help="with --min-replicas: the most that run (default --replicas)",
    )
    parser.add_argument(
        "--min-replicas", type=int, default=None, help="scale on demand down to this many (0: scale to zero)"
    )
    parser.add_argument(
        "--idle-seconds", type=float, default=60.0, help="with scaling: idle time before scaling down (60)"
    )
    parser.add_argument(
        "--cold-start-timeout",
        type=float,
        default=30.0,
        help="with scaling: how long a request waits for a replica before 503 + Retry-After (30)",
    )
    parser.add_argument("--port", type=int, default=8000, help="the proxy's port on 127.0.0.1 (default 8000)")
    parser.add_argument(
        "--drain-timeout", type=float, default=20.0, help="LIFTOFF_DRAIN_TIMEOUT_S of each replica"
    )
    parser.add_argument(
        "--env", type=_env_pair, action="append", default=[], help="LIFTOFF_NAME=value for every replica"
    )
    parser.add_argument("--keep-workdir", action="store_true", help="keep the config and logs after stopping")
    parser.add_argument(
        "--no-tls",
        action="store_true",
        help="plain HTTP at the proxy (default: TLS, a certificate made at start)",
    )
    parser.add_argument(
        "--no-auth", action="store_true", help="replicas serve without an API key (default: one is required)"
    )
    parser.add_argument(
        "--api-key-file",
        type=Path,
        help="require the first key in this file instead of a fresh random one (not on the command line: "
        "ps would show it)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        api_key = read_key(args.api_key_file) if args.api_key_file is not None else None
        config = LabConfig(
            replicas=args.max_replicas if args.max_replicas is not None else args.replicas,
            min_replicas=args.min_replicas,
            idle_s=args.idle_seconds,
            cold_start_timeout_s=args.cold_start_timeout,
            port=args.port,
            drain_timeout_s=args.drain_timeout,
            replica_env=dict(args.env),
            keep_workdir=args.keep_workdir,
            tls=not args.no_tls,
            auth=not args.no_auth,
            api_key=api_key,
        )
    except (OSError, ValueError) as error:
        print(f"python -m lab: {error}", file=sys.stderr)
        return 2

    stop = threading.Event()
    roll = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: roll.set())
    try:
        with Lab(config) as lab:
            haproxy_pid = lab.proxy.process.pid if lab.proxy.process else "?"
            print(f"\nLiftoff lab: {lab.url}  (HAProxy pid {haproxy_pid})")
            for replica in lab.replicas:
                state = f"pid {replica.pid}" if replica.alive() else "stopped until requests need it"
                print(f"  {replica.replica_id}: 127.0.0.1:{replica.port} {state}")
            client = ""
            if lab.certificate is not None:
                print(f"  TLS certificate (trust it, e.g. curl --cacert): {lab.certificate.cert_path}")
                client += f" --cacert {lab.certificate.cert_path}"
            if lab.api_keys_path is not None:
                print(
                    f"  API key (Authorization: Bearer <key>): {lab.api_key}\n  key file: {lab.api_keys_path}"
                )
                client += f" --api-key-file {lab.api_keys_path}"
            print(
                f"  files: {lab.workdir}\n"
                f"Try: python -m lab.loadtest --url {lab.url}{client} --profile joe-and-friends\n"
                f"     kill -9 <replica pid>       (self-healing)\n"
                f"     kill -HUP {os.getpid()}  (rolling update)\n"
                "Ctrl-C or SIGTERM stops everything.",
                flush=True,
            )
            while not stop.wait(0.2):
                if roll.is_set():
                    roll.clear()
                    log.info("rolling update: replacing the replicas one by one")
                    try:
                        lab.rolling_replace()
                    except (ProxyError, ReplicaError) as error:
                        # The watcher restarts a replica that did not come back; the lab keeps serving.
                        log.error("rolling update stopped: %s", error)
                    else:
                        log.info("rolling update done")
            print("stopping every process the lab started ...", flush=True)
    except (ProxyError, ReplicaError, CertificateError) as error:
        print(f"python -m lab: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
