"""A small HTTP file server on 127.0.0.1 that can misbehave on purpose: answer a ranged GET with its headers
and part of the body and then go silent (a stalled store), or answer 503 a few times first (a transient
failure). What it serves: a folder, as `https://host/path/` weights are read."""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class PlainHttp:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.stall_on: set[str] = set()
        """Object names whose body stops halfway, for as long as the server runs."""
        self.fail_first: dict[str, int] = {}
        """Object name -> how many more GETs of it answer 503."""
        self.requests: list[str] = []
        self._release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                name = self.path.lstrip("/")
                owner.requests.append(f"{self.command} {name} {self.headers.get('Range', '')}".strip())
                path = owner.folder / name
                if not path.is_file():
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if owner.fail_first.get(name, 0) > 0:
                    owner.fail_first[name] -= 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = path.read_bytes()
                start, end = 0, len(data)
                wanted = self.headers.get("Range")
                if wanted and wanted.startswith("bytes="):
                    first, _, last = wanted[6:].partition("-")
                    start = int(first)
                    end = int(last) + 1 if last else len(data)
                body = data[start:end]
                self.send_response(206 if wanted else 200)
                self.send_header("Content-Length", str(len(body)))
                if wanted:
                    self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Last-Modified", email.utils.formatdate(path.stat().st_mtime, usegmt=True))
                self.send_header("ETag", '"' + hashlib.md5(data).hexdigest() + '"')
                self.end_headers()
                if head:
                    return
                if name in owner.stall_on:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    owner._release.wait(120)  # silent, socket open: what a stalled store looks like
                    return
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def uri(self, prefix: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{prefix}".rstrip("/") + "/"

    def __enter__(self) -> PlainHttp:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
        time.sleep(0)
