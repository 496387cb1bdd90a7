"""The stack's side of the weights, shared by every cloud's `weights.py`: which weights, checked settings,
the egress every fetch needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra import model_directory
from infra.config_keys import SettingsError
from infra.weights.location import ObjectPrefix, WeightsLocation, weights_location

if TYPE_CHECKING:
    from infra.settings import Settings

DEV_ONLY_KEYS = ("weightsEndpoint", "weightsCredentialsSecret")
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")


def stack_weights(settings: Settings) -> WeightsLocation | None:
    """The model directory's weights, with the size a URI's need declared (liftoff:weightsSize)."""
    location = weights_location(settings.model_dir, settings.weights.size_bytes)
    if location is not None and location.total_bytes is None:
        raise SettingsError(
            "liftoff:weightsSize",
            f"is required: {settings.model_dir}/model.json names weights at {location.where}, whose size the "
            "stack cannot read offline; allowed: their total size as a quantity (15Gi, 700Mi)",
        )
    if location is None:
        for key in ("weightsBucket", "weightsPrefix", "weightsSize", *DEV_ONLY_KEYS):
            if getattr(settings.weights, _FIELDS[key]) is not None:
                raise SettingsError(
                    f"liftoff:{key}",
                    "is set, but the model directory's model.json names no weights; allowed: unset, or a "
                    '"weights" key in model.json (docs/your-model.md)',
                )
    return location


_FIELDS = {
    "weightsBucket": "bucket",
    "weightsPrefix": "prefix",
    "weightsSize": "size",
    "weightsEndpoint": "endpoint",
    "weightsCredentialsSecret": "credentials_secret",
}


def reject_dev_only_keys(settings: Settings, store: str) -> None:
    """A cloud stack reads its own store with its workload identity: no endpoint, no credentials Secret."""
    for key in DEV_ONLY_KEYS:
        if getattr(settings.weights, _FIELDS[key]) is not None:
            raise SettingsError(
                f"liftoff:{key}",
                f"is for the dev stack only; on {settings.cloud} the pod reads {store} with its workload "
                "identity and no stored credential; allowed: unset",
            )


def require_scheme(location: WeightsLocation, scheme: str, store: str) -> ObjectPrefix | None:
    """The URI this cloud's identity can be granted on (None for https, which needs no grant)."""
    uri = location.uri
    if uri is None or uri.scheme == "https":
        return None
    if uri.scheme != scheme:
        raise SettingsError(
            model_directory.KEY,
            f"{location.model_dir}/model.json's weights {uri.uri} is not in {store}, which this stack's pods "
            f"read with their workload identity; allowed: {scheme}://bucket/prefix/, https://..., or a local "
            "folder the stack uploads",
        )
    return uri


def https_egress() -> dict[str, Any]:
    """HTTPS to addresses outside the cluster's and the node's private ranges: where object stores and
    identity providers answer. NetworkPolicy cannot name a host, so the port and ranges are the fence."""
    return {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}],
        "ports": [{"port": 443, "protocol": "TCP"}],
    }


def host_egress(cidr: str, port: int) -> dict[str, Any]:
    """One link-local identity endpoint on one port."""
    return {"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"port": port, "protocol": "TCP"}]}
