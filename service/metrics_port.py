"""`LIFTOFF_METRICS_PORT`: `GET /metrics` on a port of its own, so that what may reach the inference port
(the ingress controller, KEDA's interceptor) cannot read the metrics, and what scrapes them (Prometheus,
from the monitoring namespace) reaches nothing else (infra/workload/network_policies.py).

A small threaded HTTP server, apart from uvicorn: one scrape every few seconds needs no event loop. A
connection has `TIMEOUT_S` to send each request, however it trickles the bytes (one sweeping thread shuts
down the late ones), and at most METRICS_PORT_CONNECTIONS are served at once: a newcomer past the cap takes
the place of the connection that has waited longest for its request, so neither silent nor trickling
clients can pile up threads or file descriptors, and a scrape still gets in. With one server process it runs on a
thread of that process, over the app's registry; with several workers, in a process of its own that the
parent forks and supervises (service/workers.py), over the files every worker writes (service/metrics.py),
so a scrape never depends on which worker the kernel would pick. The parent itself starts no thread: it
forks replacements for dead workers, and a fork copies only the forking thread, whatever locks the others
hold.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from service.connections import METRICS_PORT_CONNECTIONS

PATH = "/metrics"
TIMEOUT_S = 10.0
"""How long a connection may take to send its request (and wait idle before the next one)."""
SWEEP_S = 0.5
NOT_FOUND = b'{"error":"not found: this port serves GET /metrics only"}'


class _Handler(BaseHTTPRequestHandler):
    registry: CollectorRegistry
    timeout = TIMEOUT_S
    server_version = "liftoff-metrics"
    sys_version = ""
    protocol_version = "HTTP/1.1"  # keep-alive, as Prometheus scrapes

    server: MetricsServer

    def do_GET(self) -> None:
        self.server.answering(self.request)
        if urlsplit(self.path).path != PATH:
            self._answer(404, NOT_FOUND, "application/json")
        else:
            self._answer(200, generate_latest(self.registry), CONTENT_TYPE_LATEST)
        self.server.waiting(self.request)

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a scrape every few seconds would fill the log."""


class MetricsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lock = threading.Lock()
        self._deadlines: dict[socket.socket, float | None] = {}
        """Each open connection: when its request must have arrived, or None while it is being answered."""
        self._sweeper: threading.Thread | None = None

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self._lock:
            if len(self._deadlines) >= METRICS_PORT_CONNECTIONS:
                waiting = [(due, sock) for sock, due in self._deadlines.items() if due is not None]
                if not waiting:
                    _cut(request)
                    self.shutdown_request(request)
                    return
                oldest = min(waiting, key=lambda pair: pair[0])[1]
                del self._deadlines[oldest]  # no longer counted: its thread is ending
                _cut(oldest)
            self._deadlines[request] = time.monotonic() + TIMEOUT_S
            if self._sweeper is None:
                self._sweeper = threading.Thread(
                    target=self._sweep, name="liftoff-metrics-sweep", daemon=True
                )
                self._sweeper.start()
        super().process_request(request, client_address)

    def answering(self, request: socket.socket) -> None:
        with self._lock:
            if request in self._deadlines:
                self._deadlines[request] = None

    def waiting(self, request: socket.socket) -> None:
        with self._lock:
            if request in self._deadlines:
                self._deadlines[request] = time.monotonic() + TIMEOUT_S

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._lock:
            self._deadlines.pop(request, None)
        super().shutdown_request(request)

    def _sweep(self) -> None:
        while True:
            time.sleep(SWEEP_S)
            now = time.monotonic()
            with self._lock:
                late = [sock for sock, due in self._deadlines.items() if due is not None and due <= now]
                for sock in late:
                    del self._deadlines[sock]  # cut once; its thread closes it
                    _cut(sock)


def _cut(sock: socket.socket) -> None:
    """Wake the thread blocked reading `sock` (it then closes it), or drop a connection never served."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound in the parent (a port in use stops start-up there, once) and inherited
    by whichever process serves it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def server(sock: socket.socket, registry: CollectorRegistry) -> MetricsServer:
    """An HTTP server answering `GET /metrics` from `registry` on the listening `sock`."""
    handler = type("MetricsHandler", (_Handler,), {"registry": registry})
    httpd = MetricsServer(sock.getsockname()[:2], handler, bind_and_activate=False)
    httpd.socket.close()
    httpd.socket = sock
    return httpd


def serve_forever(sock: socket.socket, registry: CollectorRegistry) -> int:
    """The metrics process's whole life (several workers): until the parent's SIGTERM ends it."""
    server(sock, registry).serve_forever()
    return 0


@contextlib.contextmanager
def serving_in_thread(sock: socket.socket, registry: CollectorRegistry) -> Iterator[None]:
    """One server process: serve on a thread while the block runs (the server's life, its drain
    included, so the last counts can still be scraped)."""
    httpd = server(sock, registry)
    thread = threading.Thread(target=httpd.serve_forever, name="liftoff-metrics", daemon=True)
    thread.start()
    try:
        yield
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
