"""A minimal HTTP/1.1 keep-alive client on asyncio streams.

httpx costs a few hundred microseconds of Python per request; on two cores shared with the servers, that would
make the load generator the bottleneck it is meant to measure. This client sends a request prepared once as
bytes and parses only the headers the lab needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

# Headers the report uses; every other header is skipped without being decoded.
_WANTED_HEADERS = (
    b"content-length",
    b"transfer-encoding",
    b"connection",
    b"x-liftoff-replica",
    b"retry-after",
)
# A connection idle this long may be closed by the other side at any moment (uvicorn's keep-alive is 5 s), and
# a request sent into that race fails for no fault of the server: open a fresh one instead.
_MAX_IDLE_S = 2.0


class RequestFailed(Exception):
    """No HTTP response: `kind` says why (connect, timeout, closed, protocol)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


@dataclass(frozen=True)
class Response:
    status: int
    replica: str | None
    """The `X-Liftoff-Replica` header: which replica answered."""
    retry_after: str | None
    body: bytes


@dataclass(frozen=True)
class PreparedRequest:
    host: str
    port: int
    raw: bytes
    """The request line, headers and body, exactly as sent."""
    tls: ssl.SSLContext | None = None
    """For an https:// URL: the context that verifies the server (never one that skips verification)."""

    @classmethod
    def build(
        cls,
        url: str,
        method: str,
        path: str,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> PreparedRequest:
        """`tls` is used for an https:// URL (default: the system's trusted CAs); `headers` are sent as given."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"url: {url!r} is not an http:// or https:// URL with a host; allowed: http[s]://host[:port]"
            )
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        host_header = parts.netloc
        full_path = (parts.path.rstrip("/") + path) or "/"
        head = [f"{method} {full_path} HTTP/1.1", f"Host: {host_header}", "User-Agent: liftoff-loadtest"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body or method in ("POST", "PUT", "PATCH"):
            head += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        context = (tls or ssl.create_default_context()) if secure else None
        return cls(parts.hostname, port, ("\r\n".join(head) + "\r\n\r\n").encode() + body, context)

    def __repr__(self) -> str:
        # The raw bytes may carry an API key: never in a repr, a log line or an assertion message.
        return f"PreparedRequest({self.host}:{self.port}, {len(self.raw)} bytes, tls={self.tls is not None})"


class Connection:
    """One keep-alive connection, reopened when the server closes it or it sat idle too long."""

    def __init__(self, request: PreparedRequest) -> None:
        self._request = request
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._last_used = 0.0

    async def send(self, timeout_s: float) -> Response:
        """Send the prepared request once; raise RequestFailed when no HTTP response comes back."""
        try:
            async with asyncio.timeout(timeout_s):
                return await self._exchange()
        except TimeoutError as error:
            await self.close()
            raise RequestFailed("timeout", f"no response within {timeout_s:g} s") from error
        except RequestFailed:
            await self.close()
            raise
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            await self.close()
            raise RequestFailed("closed", type(error).__name__) from error
        except (asyncio.LimitOverrunError, ValueError, IndexError) as error:
            await self.close()
            raise RequestFailed("protocol", str(error)) from error

    async def _exchange(self) -> Response:
        if self._writer is not None and time.monotonic() - self._last_used > _MAX_IDLE_S:
            await self.close()
        if self._writer is None:
            try:
                self._reader, self._writer = await asyncio.open_connection(
                    self._request.host, self._request.port, ssl=self._request.tls
                )
            except ssl.SSLError as error:
                # A certificate the client does not trust, or a handshake that failed: not a refused port.
                raise RequestFailed("tls", error.reason or type(error).__name__) from error
            except OSError as error:
                raise RequestFailed("connect", error.strerror or type(error).__name__) from error
        assert self._reader is not None and self._writer is not None
        self._writer.write(self._request.raw)
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name in _WANTED_HEADERS:
                headers[name] = value.strip()
        if b"content-length" in headers:
            body = await self._reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = await self._read_chunked()
        else:
            body = await self._reader.read()
            await self.close()
        if headers.get(b"connection", b"").lower() == b"close":
            await self.close()
        self._last_used = time.monotonic()
        replica = headers.get(b"x-liftoff-replica")
        retry_after = headers.get(b"retry-after")
        return Response(
            status,
            replica.decode() if replica is not None else None,
            retry_after.decode() if retry_after is not None else None,
            body,
        )

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        chunks: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
