"""The model's weights on the dev stack: any S3-compatible store (MinIO, SeaweedFS, Ceph, or S3 itself) at
liftoff:weightsEndpoint, with credentials from a Secret the user made (liftoff:weightsCredentialsSecret).

A cluster from a kubeconfig has no cloud identity to lend the pod, so this is the one stack where a stored
credential reaches it: the user's own Secret, read whole as environment (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, the names every S3 client reads), never a value in the pod spec. The stack uploads
nothing here: model.json names an s3:// (or https://) URI the user filled.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from infra import model_directory
from infra.clouds.children import Children
from infra.config_keys import SettingsError
from infra.settings import Settings
from infra.weights.access import WeightsAccess
from infra.weights.location import WeightsLocation
from infra.weights.stack import https_egress, require_scheme

SCHEME = "s3"


def create_weights(
    name: str,
    settings: Settings,
    location: WeightsLocation,
    *,
    children: Children | None = None,
) -> WeightsAccess:
    """`name` and `children` keep every cloud's signature alike; the dev stack creates no resource."""
    del name, children
    if location.uri is None:
        raise SettingsError(
            model_directory.KEY,
            f"{location.where}: the dev stack uploads nothing; allowed: an s3:// URI in model.json's weights "
            "(python -m infra.weights layout FOLDER OUT lays a folder out for `aws s3 sync OUT s3://...`), or a "
            "cloud stack",
        )
    for key, value in (
        ("weightsBucket", settings.weights.bucket),
        ("weightsPrefix", settings.weights.prefix),
    ):
        if value is not None:
            raise SettingsError(
                f"liftoff:{key}",
                "is for a stack that uploads; the dev stack reads model.json's URI; allowed: unset",
            )
    uri = require_scheme(location, SCHEME, "an S3-compatible store")
    weights = settings.weights
    if uri is not None and weights.credentials_secret is None:
        raise SettingsError(
            "liftoff:weightsCredentialsSecret",
            f"is required for {uri.uri} on the dev stack; allowed: the name of a Secret in namespace "
            f"{settings.namespace} with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    env = {"AWS_ENDPOINT_URL": weights.endpoint} if weights.endpoint else {}
    return WeightsAccess(
        uri=location.uri.uri,
        total_bytes=location.total_bytes or 0,
        version=location.uri.uri,
        env=env,
        credentials_secret=weights.credentials_secret if uri is not None else None,
        egress=[_endpoint_egress(weights.endpoint)] if weights.endpoint else [https_egress()],
    )


def _endpoint_egress(endpoint: str) -> dict[str, Any]:
    """The endpoint's port, in the cluster (a store in another namespace) or outside it."""
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return {
        "to": [{"namespaceSelector": {}}, {"ipBlock": {"cidr": "0.0.0.0/0"}}],
        "ports": [{"port": port, "protocol": "TCP"}],
    }
