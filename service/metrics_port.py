"""`LIFTOFF_METRICS_PORT`: `GET /metrics` on a port of its own, so that what may reach the inference port
(the ingress controller, KEDA's interceptor) cannot read the metrics, and what scrapes them (Prometheus,
from the monitoring namespace) reaches nothing else (infra/workload/network_policies.py).

A small threaded HTTP server, apart from uvicorn: one scrape every few seconds needs no event loop, and a
client stalling on it holds one thread for `TIMEOUT_S` at most. With one server process it runs on a
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
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

PATH = "/metrics"
TIMEOUT_S = 10.0
"""How long a connection may take to send its request: a slow or silent client cannot pile up threads."""
NOT_FOUND = b'{"error":"not found: this port serves GET /metrics only"}'


class _Handler(BaseHTTPRequestHandler):
    registry: CollectorRegistry
    timeout = TIMEOUT_S
    server_version = "liftoff-metrics"
    sys_version = ""
    protocol_version = "HTTP/1.1"  # keep-alive, as Prometheus scrapes

    def do_GET(self) -> None:
        if urlsplit(self.path).path != PATH:
            self._answer(404, NOT_FOUND, "application/json")
            return
        self._answer(200, generate_latest(self.registry), CONTENT_TYPE_LATEST)

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
