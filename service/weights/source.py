"""Where weights live: a `weights` URI parsed, and the obstore client that reads it.

obstore (Rust's object_store crate) is one client for S3, GCS, Azure Blob and plain HTTPS, with async ranged
reads that run outside the GIL. It finds S3 the way the AWS SDKs do (`AWS_ENDPOINT_URL`, `AWS_REGION`, the
access key variables, IRSA's web identity token file, the container credentials endpoint) and Azure's
workload identity (`AZURE_FEDERATED_TOKEN_FILE`). Two settings the clouds' own SDKs honour are not read by it,
so they are mapped here: `STORAGE_EMULATOR_HOST` (Google's) and `AZURE_STORAGE_CONNECTION_STRING` (Azure's).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from obstore.store import AzureStore, GCSStore, HTTPStore, S3Store

if TYPE_CHECKING:  # typed dicts that exist only in obstore's stubs
    from obstore.store import AzureConfig, ClientConfig, GCSConfig, RetryConfig, S3Config

Scheme = Literal["s3", "gs", "az", "https", "http"]
ALLOWED_FORMS = ("s3://bucket/prefix/", "gs://bucket/prefix/", "az://container/prefix/", "https://host/path/")
DEFAULT_AWS_REGION = "us-east-1"


class WeightsSourceError(ValueError):
    """A `weights` URI or store setting that cannot be used: the message names it and what is allowed."""


@dataclass(frozen=True)
class WeightsSource:
    uri: str
    scheme: Scheme
    bucket: str
    """The bucket or container; for https, the host (with its port)."""
    prefix: str
    """Under the bucket, without leading or trailing slashes ('' for the bucket's root)."""

    def object_uri(self, key: str) -> str:
        """The full address of one object, as errors and logs name it."""
        return self.uri.rstrip("/") + "/" + key


def is_uri(value: str) -> bool:
    return "://" in value


def parse_uri(uri: str) -> WeightsSource:
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    allowed = ", ".join(ALLOWED_FORMS)
    if scheme not in ("s3", "gs", "az", "https", "http"):
        raise WeightsSourceError(f"weights URI {uri!r}: scheme {parts.scheme!r} is not one of {allowed}")
    if not parts.netloc:
        raise WeightsSourceError(f"weights URI {uri!r} names no bucket or host; expected one of {allowed}")
    if parts.query or parts.fragment:
        raise WeightsSourceError(f"weights URI {uri!r}: a query or fragment is not allowed")
    if scheme == "http" and not _is_loopback(parts.hostname or ""):
        raise WeightsSourceError(
            f"weights URI {uri!r}: plain http is only allowed to this machine (localhost); use https://"
        )
    return WeightsSource(uri, scheme, parts.netloc, parts.path.strip("/"))  # type: ignore[arg-type]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connection_string_config(connection_string: str) -> AzureConfig:
    """`AccountName=...;AccountKey=...;BlobEndpoint=...` (what Azure's SDKs and Azurite print) as obstore's
    Azure settings. A SAS in it is refused: a pod reads with its workload identity, never a token in env."""
    fields: dict[str, str] = {}
    for item in connection_string.split(";"):
        if item.strip():
            name, _, value = item.partition("=")
            fields[name.strip()] = value.strip()
    if "SharedAccessSignature" in fields:
        raise WeightsSourceError(
            "AZURE_STORAGE_CONNECTION_STRING holds a SharedAccessSignature, which Liftoff does not take; "
            "use AccountName/AccountKey locally and workload identity in a cluster"
        )
    config: AzureConfig = {}
    if "AccountName" in fields:
        config["account_name"] = fields["AccountName"]
    if "AccountKey" in fields:
        config["account_key"] = fields["AccountKey"]
    if "BlobEndpoint" in fields:
        config["endpoint"] = fields["BlobEndpoint"].rstrip("/")
    elif "AccountName" in fields:
        protocol = fields.get("DefaultEndpointsProtocol", "https")
        suffix = fields.get("EndpointSuffix", "core.windows.net")
        config["endpoint"] = f"{protocol}://{fields['AccountName']}.blob.{suffix}"
    if "AccountName" not in fields:
        raise WeightsSourceError("AZURE_STORAGE_CONNECTION_STRING has no AccountName")
    return config


def open_store(
    source: WeightsSource,
    request_timeout_s: float,
    env: Mapping[str, str] | None = None,
    client_retries: int = 0,
) -> S3Store | GCSStore | AzureStore | HTTPStore:
    """The client for `source`. The fetch keeps obstore's own retries off (`client_retries=0`) and retries
    each ranged read itself, so that what is retried and what is final is decided in one place
    (service/weights/fetch.py); the CLI's uploads let obstore retry."""
    env = os.environ if env is None else env
    timeout = timedelta(seconds=request_timeout_s)
    client: ClientConfig = {
        "timeout": timeout,
        "connect_timeout": timedelta(seconds=min(10.0, request_timeout_s)),
    }
    retry: RetryConfig = {"max_retries": client_retries, "retry_timeout": timeout}
    prefix = source.prefix or None
    if source.scheme == "s3":
        config: S3Config = {}
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
        if endpoint and endpoint.startswith("http://"):
            client["allow_http"] = True
        if not (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")):
            config["region"] = DEFAULT_AWS_REGION
        return S3Store(source.bucket, prefix=prefix, config=config, client_options=client, retry_config=retry)
    if source.scheme == "gs":
        gcs: GCSConfig = {}
        emulator = env.get("STORAGE_EMULATOR_HOST")
        if emulator:
            # Google's client libraries talk to an emulator without credentials; so does this.
            gcs["base_url"] = emulator if "://" in emulator else f"http://{emulator}"
            gcs["skip_signature"] = True
            client["allow_http"] = gcs["base_url"].startswith("http://")
        return GCSStore(source.bucket, prefix=prefix, config=gcs, client_options=client, retry_config=retry)
    if source.scheme == "az":
        azure: AzureConfig = {}
        connection = env.get("AZURE_STORAGE_CONNECTION_STRING")
        if connection:
            azure = connection_string_config(connection)
            if str(azure.get("endpoint", "")).startswith("http://"):
                client["allow_http"] = True
        return AzureStore(
            source.bucket, prefix=prefix, config=azure, client_options=client, retry_config=retry
        )
    if source.scheme == "http":
        client["allow_http"] = True
    base = f"{source.scheme}://{source.bucket}/{source.prefix}".rstrip("/") + "/"
    return HTTPStore.from_url(base, client_options=client, retry_config=retry)
