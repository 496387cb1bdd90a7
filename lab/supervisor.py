"""The lab: N replicas behind HAProxy, kept alive (self-healing), replaceable one by one (rolling update),
and, with `min_replicas` below `replicas`, scaled on demand down to zero (lab/autoscaler.py)."""

from __future__ import annotations

import logging
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from lab.api_keys import KEY_FILE_NAME, new_key, write_keys
from lab.autoscaler import Autoscaler, ScalingPolicy, Traffic, haproxy_traffic
from lab.loadtest.digit_requests import inference_request
from lab.loadtest.http import PreparedRequest
from lab.ports import free_port, free_ports
from lab.proxy import DEFAULT_MAX_IN_FLIGHT, HAProxy, Upstream
from lab.replicas import SERVER_COMMAND, Replica, ReplicaError
from lab.tls import LabCertificate, make_certificate

log = logging.getLogger("lab")


@dataclass(frozen=True)
class LabConfig:
    replicas: int = 3
    """Replica slots: the fixed count, or the most the autoscaler may run when `min_replicas` is lower."""
    min_replicas: int | None = None
    """None: `replicas` always run. Lower: the autoscaler runs between this and `replicas` (0 allowed)."""
    idle_s: float = 60.0
    """With scaling: no request for this long scales down to `min_replicas`."""
    cold_start_timeout_s: float = 30.0
    """With scaling: how long HAProxy holds a request while no replica is in rotation; then 503."""
    port: int = 0
    """The proxy's port on 127.0.0.1; 0 picks a free one."""
    replica_command: Sequence[str] = SERVER_COMMAND
    replica_env: Mapping[str, str] = field(default_factory=dict)
    """Extra LIFTOFF_* settings for every replica (host, port and replica id are the lab's)."""
    ready_timeout_s: float = 120.0
    drain_timeout_s: float = 20.0
    """How long a SIGTERMed replica may take to exit before SIGKILL; also its LIFTOFF_DRAIN_TIMEOUT_S."""
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    """Requests HAProxy sends one replica at once; the rest wait in HAProxy's queue for up to 0.5 s."""
    keep_workdir: bool = False
    tls: bool = True
    """HAProxy terminates TLS with a certificate the lab makes at start (lab/tls.py); False: plain HTTP."""
    auth: bool = True
    """The replicas require an API key from the lab's key file; False: they serve anyone (and warn)."""
    api_key: str | None = None
    """With `auth`: the key to require; None: a fresh random one (lab/api_keys.py)."""

    def __post_init__(self) -> None:
        if not 1 <= self.replicas <= 64:
            raise ValueError(f"replicas: {self.replicas} is out of range; allowed: 1..64")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port: {self.port} is out of range; allowed: 0..65535")
        if self.min_replicas is not None and not 0 <= self.min_replicas <= self.replicas:
            raise ValueError(
                f"min_replicas: {self.min_replicas} is out of range; allowed: 0..{self.replicas} (max replicas)"
            )
        if not 1.0 <= self.idle_s <= 86400.0:
            raise ValueError(f"idle_s: {self.idle_s:g} is out of range; allowed: 1..86400 seconds")
        # Below HAProxy's client timeout (60 s), so a held request is answered, never cut.
        if not 1.0 <= self.cold_start_timeout_s <= 55.0:
            raise ValueError(
                f"cold_start_timeout_s: {self.cold_start_timeout_s:g} is out of range; allowed: 1..55 seconds"
            )

    @property
    def scales(self) -> bool:
        return self.min_replicas is not None and self.min_replicas < self.replicas

    @property
    def initial_replicas(self) -> int:
        return self.min_replicas if self.min_replicas is not None else self.replicas


@dataclass
class _Slot:
    replica: Replica
    replacing: bool = False
    """True while a rolling replacement owns this slot: its exit is planned, not a crash."""
    restarts: int = 0
    next_restart_at: float = 0.0
    wanted: bool = True
    """False while the autoscaler keeps this slot stopped: its process is meant not to run."""


class Lab:
    """Start with `with Lab(LabConfig(...)) as lab:`; everything the lab started is stopped on exit."""

    def __init__(self, config: LabConfig) -> None:
        self.config = config
        self.workdir = Path(tempfile.mkdtemp(prefix="liftoff-lab-"))
        self.port = config.port or free_port()
        ports = free_ports(config.replicas)
        try:
            self.certificate: LabCertificate | None = make_certificate(self.workdir) if config.tls else None
        except BaseException:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        self.api_keys_path: Path | None = self.workdir / KEY_FILE_NAME if config.auth else None
        """The key file every replica reads; rewrite it with lab.api_keys.write_keys to rotate keys."""
        self.api_key: str | None = None
        """The key the lab wrote at start (the file may hold others later)."""
        replica_env = {"LIFTOFF_DRAIN_TIMEOUT_S": f"{config.drain_timeout_s:g}", **config.replica_env}
        if self.api_keys_path is not None:
            self.api_key = config.api_key or new_key()
            write_keys(self.api_keys_path, [self.api_key])
            replica_env["LIFTOFF_API_KEYS_FILE"] = str(self.api_keys_path)
        self._slots = [
            _Slot(
                Replica(
                    f"replica-{i}",
                    port,
                    self.workdir / f"replica-{i}.log",
                    command=config.replica_command,
                    env=replica_env,
                )
            )
            for i, port in enumerate(ports)
        ]
        for slot in self._slots[config.initial_replicas :]:
            slot.wanted = False
        upstreams = [Upstream(s.replica.replica_id, s.replica.port, idle=not s.wanted) for s in self._slots]
        hold_s = config.cold_start_timeout_s if config.scales else None
        tls_pem = self.certificate.haproxy_pem if self.certificate is not None else None
        self.proxy = HAProxy(self.port, upstreams, self.workdir, config.max_in_flight, hold_s, tls_pem)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._autoscaler = (
            Autoscaler(self, ScalingPolicy(config.initial_replicas, config.replicas, config.idle_s))
            if config.scales
            else None
        )

    @property
    def url(self) -> str:
        return f"{'https' if self.certificate is not None else 'http'}://127.0.0.1:{self.port}"

    def client_tls(self) -> ssl.SSLContext | None:
        """What a client of this lab verifies the proxy with: its certificate, and nothing else."""
        return self.certificate.client_context() if self.certificate is not None else None

    def inference_request(
        self, route: str = "predict", rows: int = 1, api_key: str | None = None
    ) -> PreparedRequest:
        """An inference request through the proxy, with the lab's key (or `api_key`) and its TLS."""
        return inference_request(
            self.url, route, rows, api_key=api_key or self.api_key, tls=self.client_tls()
        )

    @property
    def replicas(self) -> list[Replica]:
        return [slot.replica for slot in self._slots]

    def restarts(self, index: int) -> int:
        """How often the lab restarted replica `index` after it died on its own."""
        return self._slots[index].restarts

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the initial replicas, wait until all are ready, then the proxy, the watcher, the autoscaler."""
        initial = [slot for slot in self._slots if slot.wanted]
        try:
            for slot in initial:
                slot.replica.start()
            with ThreadPoolExecutor(max_workers=max(1, len(initial))) as pool:
                for done in [pool.submit(s.replica.wait_ready, self.config.ready_timeout_s) for s in initial]:
                    done.result()
            self.proxy.start()
            for slot in initial:
                self.proxy.wait_status(slot.replica.replica_id, "UP", timeout_s=10.0)
        except BaseException:
            self.stop()
            raise
        self._watcher = threading.Thread(target=self._watch, name="lab-watcher", daemon=True)
        self._watcher.start()
        if self._autoscaler is not None:
            self._autoscaler.start()
        log.info("lab ready at %s with %d replicas (files in %s)", self.url, len(initial), self.workdir)

    def stop(self) -> None:
        """Stop the watcher, the proxy and every replica (SIGTERM, then SIGKILL after the drain timeout)."""
        self._stopping.set()
        if self._autoscaler is not None:
            self._autoscaler.stop()
        if self._watcher is not None:
            self._watcher.join(timeout=5.0)
        self.proxy.stop()
        with ThreadPoolExecutor(max_workers=len(self._slots)) as pool:
            list(pool.map(lambda s: s.replica.stop(self.config.drain_timeout_s + 5.0), self._slots))
        if not self.config.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _watch(self) -> None:
        """Self-healing: restart a replica that exited without being asked to, with a growing back-off."""
        while not self._stopping.wait(0.1):
            for index, slot in enumerate(self._slots):
                with self._lock:
                    if slot.replacing or not slot.wanted or slot.replica.alive() or self._stopping.is_set():
                        continue
                    now = time.monotonic()
                    if now < slot.next_restart_at:
                        continue
                    log.warning(
                        "%s exited with code %s; restarting it",
                        slot.replica.replica_id,
                        slot.replica.exit_code(),
                    )
                    slot.restarts += 1
                    # 0.5 s, 1 s, 2 s ... 10 s: a replica that crashes at start must not spin the CPU.
                    slot.next_restart_at = now + min(10.0, 0.5 * 2 ** min(slot.restarts - 1, 5))
                    try:
                        slot.replica.start()
                    except (OSError, ReplicaError) as error:
                        log.error("could not restart %s: %s", slot.replica.replica_id, error)
                        continue
                # HAProxy's /readyz check puts it back into rotation once the model is loaded.
                log.info("%s restarted (pid %s, slot %d)", slot.replica.replica_id, slot.replica.pid, index)

    def wait_in_rotation(self, index: int, timeout_s: float, after_generation: int = 0) -> None:
        """Block until replica `index` runs a process started after `after_generation`, that process is ready,
        and the proxy reports it UP, so it gets traffic again."""
        replica = self._slots[index].replica
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (
                replica.generation > after_generation
                and replica.ready()
                and self.proxy.status(replica.replica_id) == "UP"
            ):
                return
            time.sleep(0.05)
        raise ReplicaError(f"{replica.replica_id} is not back in rotation after {timeout_s:.0f} s")

    def replace(self, index: int) -> None:
        """Replace one replica without failing a request: drain it in the proxy, SIGTERM it, wait for it to
        exit, start its successor, wait until ready and back in rotation."""
        slot = self._slots[index]
        name = slot.replica.replica_id
        with self._lock:
            slot.replacing = True
        try:
            # Out of rotation first, so no new request is routed to a process about to stop listening.
            self.proxy.set_state(name, "drain")
            deadline = time.monotonic() + self.config.drain_timeout_s
            while int(self.proxy.server_stats()[name]["scur"] or 0) > 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            slot.replica.terminate()
            if not slot.replica.wait_exit(self.config.drain_timeout_s + 5.0):
                log.error("%s did not exit within its drain timeout; killing it", name)
                slot.replica.kill()
                slot.replica.wait_exit(5.0)
            slot.replica.start()
            slot.replica.wait_ready(self.config.ready_timeout_s)
            self.proxy.set_state(name, "ready")
            self.wait_in_rotation(index, timeout_s=10.0)
            log.info("%s replaced (pid %s)", name, slot.replica.pid)
        finally:
            with self._lock:
                slot.replacing = False

    def rolling_replace(self) -> None:
        """Replace every replica, one at a time, as a Deployment's rolling update with maxSurge 0 would."""
        for index, slot in enumerate(self._slots):
            # A slot the autoscaler keeps stopped has nothing to replace; its next start runs the new code.
            if slot.wanted:
                self.replace(index)

    # ---- scaling (lab/autoscaler.py calls these) -------------------------------------------------------

    def active_replicas(self) -> int:
        """Replicas meant to run now (started, or restarting after a crash)."""
        with self._lock:
            return sum(slot.wanted for slot in self._slots)

    def traffic(self) -> Traffic:
        return haproxy_traffic(self.proxy.stats())

    def scale_up(self) -> None:
        """Start one stopped slot and put it in rotation once ready; held requests then flow to it."""
        with self._lock:
            slot = next((s for s in self._slots if not s.wanted), None)
            if slot is None:
                return
            slot.wanted = True
            slot.replacing = True  # the watcher leaves it alone while it starts
        name = slot.replica.replica_id
        try:
            started = time.monotonic()
            slot.replica.start()
            slot.replica.wait_ready(self.config.ready_timeout_s)
            log.info("%s started: process start to ready %.2f s", name, time.monotonic() - started)
            self.proxy.set_state(name, "ready")
            self.proxy.wait_status(name, "UP", timeout_s=10.0)
        except BaseException:
            with self._lock:
                slot.wanted = False
            slot.replica.stop(self.config.drain_timeout_s)
            raise
        finally:
            with self._lock:
                slot.replacing = False

    def scale_down(self, to: int) -> None:
        """Stop running slots, last first, until `to` run: out of rotation, drained, SIGTERMed."""
        while True:
            with self._lock:
                running = [s for s in self._slots if s.wanted]
                if len(running) <= to:
                    return
                slot = running[-1]
                slot.wanted = False
            name = slot.replica.replica_id
            self.proxy.set_state(name, "drain")
            deadline = time.monotonic() + self.config.drain_timeout_s
            while int(self.proxy.server_stats()[name]["scur"] or 0) > 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            slot.replica.stop(self.config.drain_timeout_s + 5.0)
            # Maintenance, not DOWN: nbsrv() must count it out at once, so a new request is held, not sent.
            self.proxy.set_state(name, "maint")
